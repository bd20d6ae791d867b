"""POST /v1/events: parse a body, validate each event, store it once, quarantine the rest.

Everything the service does not accept is quarantined in the same transaction
in which the accepted events are stored, so nothing that arrived is lost.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import simplejson
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from app.fastpath import FastEvent, fast_event, fast_events
from core.binary_arrays import TextArray, TimestamptzArray
from core.events import Reason, storable_text, validate_event
from core.log import LogPosition
from core.sql import query

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
# Deeper events are refused: serializing them again (for storage and quarantine) would exhaust the stack.
MAX_NESTING = 64
JSON_TYPES = ("application/json",)


class BadBody(Exception):
    """The body as a whole cannot be read as events."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Item:
    """One event of a request: its raw text, and what became of it.

    An event the fast path (app.fastpath) accepted has fast set and no parsed; for an element of a
    JSON array, raw is then the element as sent until quarantine needs it re-serialized.
    """

    raw: bytes
    parsed: Any = None
    valid: FastEvent | None = None
    status: Literal["accepted", "duplicate", "rejected"] = "rejected"
    reasons: list[Reason] = field(default_factory=list)
    position: LogPosition | None = None
    fast: FastEvent | None = None
    raw_is_element: bool = False

    def result(self, index: int) -> dict[str, Any]:
        answer: dict[str, Any] = {"index": index, "status": self.status}
        if self.fast is not None:
            answer["event_id"] = self.fast.event_id
        elif isinstance(self.parsed, dict) and isinstance(self.parsed.get("event_id"), str):
            answer["event_id"] = storable_text(self.parsed["event_id"])
        if self.position is not None:
            answer["position"] = str(self.position)
        if self.reasons:
            answer["errors"] = [reason.model_dump() for reason in self.reasons]
        return answer


def _loads(text: str) -> Any:
    # Decimals keep amounts exact; NaN and Infinity are not JSON.
    return simplejson.loads(text, use_decimal=True, allow_nan=False)


def _dumps(value: Any, ascii_only: bool = False) -> str:
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=ascii_only, separators=(",", ":"))


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str | None) -> list[Item]:
    """Split a body into events: one object, a JSON array of them, or NDJSON."""
    kind = media_type(content_type)
    if kind not in JSON_TYPES + NDJSON_TYPES:
        raise BadBody(415, f"Content-Type must be application/json or application/x-ndjson, not {kind or 'missing'!r}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody(400, f"body is not UTF-8: {error}") from None
    if kind in NDJSON_TYPES:
        # Only \n ends a line: other Unicode line breaks may sit inside JSON strings. Split as bytes:
        # no UTF-8 sequence holds a \n or \r byte, and the fast path reads bytes.
        lines = [line.removesuffix(b"\r") for line in body.split(b"\n")]
        items = [
            item
            for number, (line, fast) in enumerate(zip(lines, fast_events(lines, body), strict=True), 1)
            if (item := Item(raw=line, fast=fast) if fast is not None else _ndjson_item(number, line)) is not None
        ]
    elif (fast_items := _fast_json_items(body)) is not None:
        items = fast_items
    else:
        try:
            document = _loads(text)
        except (ValueError, RecursionError) as error:  # JSONDecodeError, huge integers, deep nesting
            raise BadBody(400, f"body is not valid JSON: {error}") from None
        if nesting(document) > MAX_NESTING + 1:
            raise BadBody(400, f"body nests deeper than {MAX_NESTING} levels within an event")
        events = document if isinstance(document, list) else [document]
        # Each element is re-serialized for quarantine; escapes keep odd text storable.
        items = [Item(raw=_dumps(event, ascii_only=True).encode(), parsed=event) for event in events]
    if not items:
        raise BadBody(400, "body holds no events")
    return items


_elements = msgspec.json.Decoder(list[msgspec.Raw])


def _fast_json_items(body: bytes) -> list[Item] | None:
    """A JSON array or object whose every event the fast path accepts; None otherwise (full path)."""
    stripped = body.strip()
    if stripped.startswith(b"{"):
        elements = [stripped]
    elif stripped.startswith(b"["):
        try:
            elements = [bytes(raw) for raw in _elements.decode(stripped)]
        except (msgspec.DecodeError, RecursionError):  # deep nesting: the full path says why
            return None
    else:
        return None
    items = []
    for element in elements:
        fast = fast_event(element)
        if fast is None:
            return None
        items.append(Item(raw=element, fast=fast, raw_is_element=True))
    return items or None


def _ndjson_item(line_number: int, raw: bytes) -> Item | None:
    """A line the fast path left: parsed by the full path, or None when it is blank."""
    line = raw.decode()  # the body is UTF-8
    if not line.strip():
        return None
    try:
        parsed = _loads(line)
    except (ValueError, RecursionError) as error:
        return Item(raw=raw, reasons=[Reason(field="", message=f"line {line_number} is not valid JSON: {error}")])
    if nesting(parsed) > MAX_NESTING:
        reason = Reason(field="", message=f"line {line_number} nests deeper than {MAX_NESTING} levels")
        return Item(raw=raw, reasons=[reason])
    return Item(raw=raw, parsed=parsed)


def nesting(value: Any) -> int:
    """How deeply objects and arrays nest in a decoded JSON value, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_and_validate(body: bytes, content_type: str | None) -> list[Item]:
    """parse_body, then validate: what POST /v1/events does before it stores anything."""
    items = parse_body(body, content_type)
    validate(items)
    return items


def validate(items: list[Item]) -> None:
    """Marks each item valid, or rejected with reasons; a repeat within the body is a duplicate."""
    # Event ids in canonical form, lower case: the fast path's as sent, the full path's as parsed.
    seen: set[str] = set()
    for item in items:
        if item.reasons:
            continue
        if item.fast is not None:
            event = item.fast
        else:
            checked = validate_event(item.parsed)
            if isinstance(checked, list):
                item.reasons = checked
                continue
            event = FastEvent(
                event_id=str(checked.event_id),
                type=checked.type,
                occurred_at=checked.occurred_at,
                data=_dumps(checked.data).encode(),
                booking_id=checked.data.get("booking_id"),
            )
        key = event.event_id.lower()
        if key in seen:
            item.status = "duplicate"
        else:
            seen.add(key)
            item.valid = event


async def store(conn: AsyncConnection[Any], items: list[Item], content_type: str | None) -> LogPosition | None:
    """Appends the valid events not stored before and quarantines the rejected ones, in one transaction.

    Returns the position of the last event stored, or None when none was new.
    """
    fresh = [item for item in items if item.valid is not None]
    rejected = [item for item in items if item.reasons]
    last: LogPosition | None = None
    # One pipeline: BEGIN travels with the append, COMMIT with the quarantine (if any).
    async with conn.pipeline(), conn.transaction():
        if fresh:
            events = [item.valid for item in fresh if item.valid is not None]
            # Binary arrays packed a column at a time (core.binary_arrays); event ids and data as text,
            # which the query casts to uuid and jsonb.
            rows = await (
                await conn.execute(
                    query("append_events"),
                    {
                        "event_ids": TextArray.of([event.event_id.encode() for event in events]),
                        "types": TextArray.of([event.type.encode() for event in events]),
                        "occurred_ats": TimestamptzArray.of([event.occurred_at for event in events]),
                        "datas": TextArray.of([event.data for event in events]),
                    },
                )
            ).fetchall()
            # Keyed by the event's place in `fresh`, counted from 1.
            stored = {row[0]: LogPosition(row[1], row[2]) for row in rows if not row[3]}
            booking_taken = {row[0]: row[4] for row in rows if row[3]}
            for place, item in enumerate(fresh, 1):
                assert item.valid is not None
                if place in booking_taken:
                    booking_id, holder = item.valid.booking_id, booking_taken[place]
                    message = (
                        f"booking {booking_id} was already created by event {holder}"
                        if holder
                        else f"booking {booking_id} was created meanwhile by another request"
                    )
                    item.reasons = [Reason(field="data.booking_id", message=message)]
                    if item.raw_is_element:
                        # As the full path keeps an element of a JSON array: re-serialized.
                        item.raw = _dumps(_loads(item.raw.decode()), ascii_only=True).encode()
                    rejected.append(item)
                    continue
                item.position = stored.get(place)
                item.status = "accepted" if item.position else "duplicate"
            last = max(stored.values(), default=None)
        if rejected:
            await quarantine(conn, [item.raw for item in rejected], [item.reasons for item in rejected], content_type)
    return last


async def quarantine(
    conn: AsyncConnection[Any], raws: list[bytes], reasons: list[list[Reason]], content_type: str | None
) -> None:
    await conn.execute(
        query("quarantine"),
        {
            "content_type": content_type,
            "raws": raws,
            "reasons": [Jsonb([reason.model_dump() for reason in item]) for item in reasons],
        },
    )
