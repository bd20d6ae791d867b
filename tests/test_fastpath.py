"""The ingest fast path accepts only what the full path accepts, reads it the same way, and follows the registry."""

import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo

import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.fastpath import FAST_TYPES, FastField, fast_event, fast_events, fast_values
from core.events import (
    EVENT_MODEL_BY_TYPE,
    EVENT_MODELS,
    Amount,
    Currency,
    Identifier,
    ValidEvent,
    data_model,
    type_name,
    validate_event,
)
from tests.support.events import REQUIRED_DATA, make_event

TRICKY_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    12,
    1.5,
    "",
    "x",
    "EUR",
    "eur",
    "XYZ",
    "120.50",
    "1.00001",
    "-0.01",
    "1e3",
    "12.3.4",
    "0120.5",
    "99999999999999.9999",
    "999999999999999.9",
    "1_000",
    "\u0663",
    "NaN",
    " 1",
    "a" * 200,
    "a" * 201,
    "2026-06-01",
    "2026-02-30",
    "20260601",
    "next June",
    {"k": [1, 2]},
    [1],
    "\u00e9\u00e9",
    "nul\u0000",
    "\ud800",
    str(uuid.uuid4()),
    str(uuid.uuid4()).upper(),
    uuid.uuid4().hex,
    "{" + str(uuid.uuid4()) + "}",
    "2026-11-01T08:15:00+01:00",
    "2026-11-01T08:15:00Z",
    "2026-11-01T08:15:00",
    "2026-11-01 08:15:00Z",
    "2026-11-01T08:15:00.1234567Z",
    "2026-11-01T24:00:00Z",
    "2026-11-01T23:59:60Z",
    "1999-12-31T23:59:59Z",
    "2026-11-01T08:15:00-00:00",
    "2026-11-01T08:15:00+23:59",
    "2026-11-01t08:15:00z",
]
NUMBERS = ["120.50", "1E2", "1e2", "-0", "00.1", "1.0", "12345678901234.1234", "123456789012345.1", "0.00001", "7"]
DATA_FIELDS = sorted({name for model in EVENT_MODELS for name in data_model(model).model_fields} | {"note"})


def line_variants() -> st.SearchStrategy[bytes]:
    kinds = st.sampled_from(sorted(REQUIRED_DATA))
    fields = st.sampled_from(["event_id", "type", "occurred_at", "data", "extra"])
    data_fields = st.sampled_from(DATA_FIELDS)
    # Copies: a drawn dict set as "data" and then given itself as a field would be circular, and would
    # change TRICKY_VALUES for every later example.
    tricky = st.sampled_from(TRICKY_VALUES).map(copy.deepcopy)

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        event = make_event(draw(kinds))
        event["occurred_at"] = (datetime.now(UTC) - timedelta(minutes=draw(st.integers(0, 10**6)))).isoformat()
        for _ in range(draw(st.integers(0, 3))):
            action = draw(st.integers(0, 3))
            if action == 0:
                event[draw(fields)] = draw(tricky)
            elif action == 1 and isinstance(event.get("data"), dict):
                event["data"][draw(data_fields)] = draw(tricky)
            elif action == 2 and isinstance(event.get("data"), dict):
                event["data"].pop(draw(data_fields), None)
            elif action == 3:
                event.pop(draw(fields), None)
        text = json.dumps(event, ensure_ascii=draw(st.booleans()))
        # Amounts as JSON numbers the way senders write them.
        if draw(st.booleans()) and isinstance(event.get("data"), dict):
            for name in ("total_amount", "amount", "refund_amount"):
                value = event["data"].get(name)
                if isinstance(value, str):
                    text = text.replace(f'"{name}": "{value}"', f'"{name}": {draw(st.sampled_from(NUMBERS))}')
        # A key sent twice: the last one counts, for msgspec, simplejson and jsonb alike.
        if draw(st.integers(0, 9)) == 0 and text.endswith("}}"):
            name = draw(data_fields)
            text = text[:-2] + f', "{name}": {json.dumps(draw(tricky))}' + "}}"
        return text.encode("utf-8", "surrogatepass")

    return build()


def full_path(line: bytes) -> ValidEvent | list[Any] | None:
    try:
        candidate = simplejson.loads(line.decode(), use_decimal=True, allow_nan=False)
    except ValueError:
        return None
    return validate_event(candidate)


@settings(max_examples=3000, deadline=None)
@given(line_variants())
def test_the_fast_path_accepts_nothing_the_full_path_refuses(line: bytes) -> None:
    fast = fast_event(line)
    if fast is None:
        return
    full = full_path(line)
    assert isinstance(full, ValidEvent), (line, full)
    assert uuid.UUID(fast.event_id) == full.event_id
    assert fast.type == full.type
    assert fast.occurred_at == full.occurred_at
    assert simplejson.loads(fast.data, use_decimal=True) == full.data
    if "booking_id" in data_model(EVENT_MODEL_BY_TYPE[fast.type]).model_fields:
        assert fast.booking_id == full.data["booking_id"]


def test_the_fast_path_takes_ordinary_events() -> None:
    for kind in REQUIRED_DATA:
        event = make_event(kind)
        assert fast_event(json.dumps(event).encode()) is not None, kind
    numeric = json.dumps(make_event("booking.created")).replace('"120.50"', "120.50")
    assert fast_event(numeric.encode()) is not None


def test_what_the_fast_path_leaves_to_the_full_path() -> None:
    event = make_event("booking.created")
    event["data"]["note"] = "caf\u00e9"
    assert fast_event(json.dumps(event, ensure_ascii=True).encode()) is None  # a \\u escape
    assert fast_event(json.dumps(event, ensure_ascii=False).encode()) is not None
    event["data"]["deep"] = json.loads("[" * 70 + "]" * 70)
    assert fast_event(json.dumps(event, ensure_ascii=False).encode()) is None


def test_the_fast_path_has_the_registry_fields_of_every_type() -> None:
    """The registry owns the rules: each type's fast path has exactly its fields, kinds and required ones."""
    kinds = {Identifier: "identifier", Amount: "amount", Currency: "currency", date: "date"}
    for model in EVENT_MODELS:
        data = data_model(model)
        hints = get_type_hints(data, include_extras=True)
        expected = []
        for name, info in data.model_fields.items():
            hint = hints[name]
            base = next((kind for annotation, kind in kinds.items() if hint is annotation), None)
            if base is None:
                base = next(kind for annotation, kind in kinds.items() if hint == annotation | None)
            expected.append(FastField(name, base, info.is_required()))
        assert type_name(model) in FAST_TYPES, type_name(model)
        assert FAST_TYPES[type_name(model)].fields == tuple(expected), type_name(model)


# Values an importer may build: TRICKY_VALUES and what a legacy row holds (decimals, numbers, odd text).
VALUE_VARIANTS: list[Any] = [
    *TRICKY_VALUES,
    Decimal("120.50"),
    Decimal("1E+2"),
    7,
    "a\tb",
    "line\nbreak",
    "\u2028",
    " ",
]
ZONES = [UTC, ZoneInfo("Europe/London"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("America/St_Johns")]


def value_variants() -> st.SearchStrategy[tuple[str, str, datetime, dict[str, Any]]]:
    kinds = st.sampled_from(sorted(REQUIRED_DATA))
    data_fields = st.sampled_from(DATA_FIELDS)
    tricky = st.sampled_from(VALUE_VARIANTS).map(copy.deepcopy)
    text = st.sampled_from([value for value in TRICKY_VALUES if isinstance(value, str)])

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, str, datetime, dict[str, Any]]:
        kind = draw(kinds)
        event = make_event(kind)
        event_id = draw(text) if draw(st.integers(0, 9)) == 0 else event["event_id"]
        type_ = draw(text) if draw(st.integers(0, 9)) == 0 else kind
        when = datetime.now(UTC) + timedelta(minutes=draw(st.integers(-(10**7), 3 * 24 * 60)))
        occurred_at = (
            when.replace(tzinfo=None) if draw(st.integers(0, 9)) == 0 else when.astimezone(draw(st.sampled_from(ZONES)))
        )
        data = event["data"]
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                data[draw(data_fields)] = draw(tricky)
            else:
                data.pop(draw(data_fields), None)
        return event_id, type_, occurred_at, data

    return build()


@settings(max_examples=3000, deadline=None)
@given(value_variants())
def test_the_fast_path_on_values_accepts_nothing_the_full_path_refuses(
    event: tuple[str, str, datetime, dict[str, Any]],
) -> None:
    event_id, type_, occurred_at, data = event
    if not fast_values(event_id, type_, occurred_at, data):
        return
    full = validate_event({"event_id": event_id, "type": type_, "occurred_at": occurred_at.isoformat(), "data": data})
    assert isinstance(full, ValidEvent), (event, full)
    assert str(full.event_id) == event_id
    assert full.type == type_
    # The same instant. Compared in UTC: a time in a repeated hour (fold=1) never equals a time of another
    # zone under ==, even at the same instant (PEP 495).
    assert full.occurred_at == occurred_at.astimezone(UTC)
    assert full.data == data


def test_the_fast_path_on_values_takes_ordinary_events() -> None:
    london = datetime.now(ZoneInfo("Europe/London"))
    for kind, data in REQUIRED_DATA.items():
        assert fast_values(str(uuid.uuid4()), kind, london, dict(data)), kind
    extra = {**REQUIRED_DATA["booking.created"], "channel": "web", "note": "caf\u00e9"}
    assert fast_values(str(uuid.uuid4()), "booking.created", london, extra)
    # Left to the full path: amounts not as text, naive times, text JSON would escape.
    assert not fast_values(str(uuid.uuid4()), "booking.created", london, {**extra, "total_amount": Decimal("1")})
    assert not fast_values(str(uuid.uuid4()), "booking.created", london.replace(tzinfo=None), extra)
    assert not fast_values(str(uuid.uuid4()), "booking.created", london, {**extra, "note": "a\x00"})


def bodies() -> st.SearchStrategy[list[bytes]]:
    """Lines of an NDJSON body: events of every kind, odd ones, blanks, and lines that nest deeply."""
    deep = st.integers(1, 80).map(
        lambda depth: (
            json.dumps({**make_event("booking.created"), "data": {"booking_id": "b", "x": 0}})
            .replace('"x": 0', '"x": ' + '{"y": ' * depth + "0" + "}" * depth)
            .encode()
        )
    )
    return st.lists(st.one_of(line_variants(), deep, st.sampled_from([b"", b" ", b"x", b"{}"])), max_size=12)


@settings(max_examples=1500, deadline=None)
@given(bodies())
def test_scanning_a_body_once_finds_what_scanning_each_line_finds(lines: list[bytes]) -> None:
    """fast_events skips each line's scans for escapes and nesting when the body's text rules them out."""
    body = b"\n".join(lines)
    assert fast_events(lines, body) == [fast_event(line) for line in lines]


def test_a_deep_line_among_lines_the_fast_path_leaves_is_left_too() -> None:
    """Braces counted over the body: a line without them cannot lend its share to a deeply nested one."""
    event = make_event("booking.created")
    event["data"]["note"] = json.loads('{"a": ' * 70 + "1" + "}" * 70)
    deep = json.dumps(event).encode()
    lines = [deep] + [b"not json"] * 80
    assert fast_events(lines, b"\n".join(lines))[0] is None
    assert fast_events([deep], deep) == [None]
