"""Hostile input at POST /v1/events: at least 10,000 requests, no 5xx, and every event stored once or quarantined.

Run with `make test-fuzz` (not part of `make test`; CI runs both). The counts
are printed at the end, for the figures.
"""

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from app.api import create_app
from core.settings import Settings
from tests.support.events import REQUIRED_DATA, make_event

pytestmark = pytest.mark.fuzz
TALLY: Counter[str] = Counter()
ODD_TEXT = ["\u0000", "\ud800", "\udfff", "\u2028", "\ufeff", "💥", "<script>", "'; drop table x; --", "a" * 300]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/json; charset=latin-1",
    "application/x-ndjson",
    "application/ndjson; charset=utf-8",
    "application/jsonl",
    "text/plain",
    "application/xml",
    "",
    "multipart/form-data; boundary=x",
]


@pytest.fixture(scope="module")
def fuzz_client(postgresql_proc: Any) -> Iterator[tuple[TestClient, psycopg.Connection[Any]]]:
    """One app and one database for the whole module: the invariants hold request by request."""
    from pytest_postgresql.janitor import DatabaseJanitor

    from tests.support.databases import url_for

    info = postgresql_proc
    with DatabaseJanitor(
        user=info.user,
        host=info.host,
        port=info.port,
        dbname="fuzz",
        template_dbname=info.template_dbname,
        password=info.password,
    ):
        url = url_for(info.host, info.port, info.user, "fuzz")
        # No scheduled jobs: the forecast refresh and the data-quality checks are not what this module tries,
        # and their minutes of CPU in the background slowed every request.
        settings = Settings(
            database_url=url,
            use_local_cluster=False,
            auth="off",
            log_requests=False,
            dq_interval=0,
            forecast_interval=0,
        )
        app = create_app(settings)
        with TestClient(app) as client, psycopg.connect(url, autocommit=True) as db:
            yield client, db
    print(
        f"\nfuzz: {sum(v for k, v in TALLY.items() if k.startswith('status'))} requests; "
        + ", ".join(f"{k}={v}" for k, v in sorted(TALLY.items()))
    )


def json_values(depth: int = 3) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(ODD_TEXT),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=8) | st.sampled_from(ODD_TEXT), inner, max_size=4)
        ),
        max_leaves=12,
    )


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of some type with a few of its fields, keys or values made hostile."""
    event: dict[str, Any] = make_event(draw(st.sampled_from(list(REQUIRED_DATA))))
    event["data"] = dict(event["data"])
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(["envelope", "data", "data-key", "envelope-key", "drop"]))
        if target == "envelope":
            event[draw(st.sampled_from(["event_id", "type", "occurred_at", "data"]))] = draw(json_values())
        elif target == "data" and isinstance(event.get("data"), dict):
            keys = list(event["data"]) or ["x"]
            event["data"][draw(st.sampled_from(keys))] = draw(json_values())
        elif target == "data-key" and isinstance(event.get("data"), dict):
            event["data"][draw(st.sampled_from(ODD_TEXT) | st.text(max_size=6))] = draw(json_values())
        elif target == "envelope-key":
            event[draw(st.sampled_from(ODD_TEXT) | st.text(max_size=6))] = draw(json_values())
        else:
            event.pop(draw(st.sampled_from(list(event))), None)
    return event


def check(
    client: TestClient, db: psycopg.Connection[Any], body: bytes, content_type: str | None, chunked: bool = False
) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    quarantined_before = db.execute("select count(*) from pulse.quarantine").fetchone()
    content: Any = iter([body[: len(body) // 2], body[len(body) // 2 :]]) if chunked else body
    response = client.post("/v1/events", content=content, headers=headers)
    TALLY[f"status {response.status_code}"] += 1
    assert response.status_code < 500, response.text
    quarantined_after = db.execute("select count(*) from pulse.quarantine").fetchone()
    assert quarantined_before is not None and quarantined_after is not None
    added = quarantined_after[0] - quarantined_before[0]
    if response.status_code in (200, 207, 422):
        results = response.json()["results"]
        rejected = [r for r in results if r["status"] == "rejected"]
        assert all(r["errors"] and all(e["message"] for e in r["errors"]) for r in rejected)
        assert added == len(rejected), "every rejected event is quarantined, once"
        accepted = [r["event_id"] for r in results if r["status"] == "accepted"]
        if accepted:
            stored = db.execute(
                "select event_id::text, count(*) from pulse.events where event_id = any(%s::uuid[]) group by 1",
                (accepted,),
            ).fetchall()
            assert dict(stored) == {event_id: 1 for event_id in accepted}, "accepted events are stored once"
        TALLY["events accepted"] += len(accepted)
        TALLY["events duplicate"] += sum(r["status"] == "duplicate" for r in results)
        TALLY["events quarantined"] += len(rejected)
    elif response.status_code == 413:
        assert added == 0
    else:
        assert response.status_code in (400, 415) and "error" in response.json()
        assert added == 1, "an unreadable body is quarantined whole"
        TALLY["bodies quarantined"] += 1


@settings(max_examples=6500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(events=st.lists(mutated_events(), min_size=1, max_size=6), ndjson=st.booleans(), chunked=st.booleans())
def test_structured_hostile_events(
    fuzz_client: tuple[TestClient, psycopg.Connection[Any]], events: list[dict[str, Any]], ndjson: bool, chunked: bool
) -> None:
    client, db = fuzz_client
    if ndjson:
        body = "\n".join(json.dumps(event) for event in events).encode()
        check(client, db, body, "application/x-ndjson", chunked)
    else:
        check(client, db, json.dumps(events).encode(), "application/json", chunked)


@settings(max_examples=4000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=300), content_type=st.sampled_from([*CONTENT_TYPES, None]), chunked=st.booleans())
def test_raw_bytes_and_header_games(
    fuzz_client: tuple[TestClient, psycopg.Connection[Any]], body: bytes, content_type: str | None, chunked: bool
) -> None:
    client, db = fuzz_client
    check(client, db, body, content_type, chunked)


TEXTUAL_TRAPS = [
    b'{"event_id": "%s", "type": "search.performed", "type": "booking.created", "occurred_at": "2026-11-20T10:00:00Z", '
    b'"data": {"session_id": "s", "destination": "x"}}',
    b'[{"event_id": "%s", "type": "search.performed", "occurred_at": "2026-11-20T10:00:00Z", '
    b'"data": {"session_id": "s", "destination": "x", "n": 1e400}}]',
    b'{"event_id": "%s", "type": "payment.captured", "occurred_at": "2026-11-20T10:00:00Z", '
    b'"data": {"booking_id": "b", "currency": "EUR", "amount": 1e-400}}',
    b'{"event_id": "%s", "type": "payment.captured", "occurred_at": "2026-11-20T10:00:00Z", '
    b'"data": {"booking_id": "b", "currency": "EUR", "amount": 123456789012345678901234567890}}',
    b'{"event_id": "%s", "type": "search.performed", "occurred_at": "2026-11-20T10:00:00Z", '
    b'"data": {"session_id": "\\ud800", "\\udfff": "\\u0000", "destination": "x"}}',
    b'{"event_id": "%s", "type": "search.performed", "occurred_at": "2026-11-20T10:00:00Z", "data": '
    + b'{"a":' * 5000
    + b"1"
    + b"}" * 5000
    + b"}",
    b"\xff\xfe{\x00}",
    b'{"event_id": "%s", "type": "search.performed", "occurred_at": "2026-11-20T10:00:00Z", '
    b'"data": {"session_id": "\xc3\x28"}}',
]


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    trap=st.sampled_from(TEXTUAL_TRAPS),
    content_type=st.sampled_from(["application/json", "application/x-ndjson"]),
    chunked=st.booleans(),
)
def test_textual_traps(
    fuzz_client: tuple[TestClient, psycopg.Connection[Any]], trap: bytes, content_type: str, chunked: bool
) -> None:
    client, db = fuzz_client
    body = trap.replace(b"%s", str(uuid.uuid4()).encode()) if b"%s" in trap else trap
    check(client, db, body, content_type, chunked)


def test_a_hundred_thousand_element_array(fuzz_client: tuple[TestClient, psycopg.Connection[Any]]) -> None:
    client, db = fuzz_client
    elements = [make_event("search.performed") if i % 1000 == 0 else i for i in range(100_000)]
    check(client, db, json.dumps(elements).encode(), "application/json")


def test_enough_requests_were_sent() -> None:
    assert sum(v for k, v in TALLY.items() if k.startswith("status")) >= 10_000, TALLY
