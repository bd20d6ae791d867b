"""POST /v1/events: every validation rule, status code, idempotency and quarantine."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app import ingest
from app.api import create_app
from core.settings import Settings
from core.sql import query
from projections import ALL_PROJECTIONS
from tests.support.events import REQUIRED_DATA, booking, make_event
from tests.support.pipeline import append, append_in
from tests.support.processes import wait_for


def post(client: TestClient, body: Any, content_type: str = "application/json") -> Any:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/v1/events", content=content, headers={"Content-Type": content_type})


def quarantined(db: psycopg.Connection[Any]) -> list[tuple[bytes, list[dict[str, str]]]]:
    return [(bytes(row[0]), row[1]) for row in db.execute("select raw, reasons from pulse.quarantine order by 1")]


def stored_ids(db: psycopg.Connection[Any]) -> list[str]:
    return [str(row[0]) for row in db.execute("select event_id from pulse.events order by seq")]


def test_one_event_is_accepted_and_committed_with_its_position(client: TestClient, db: psycopg.Connection[Any]) -> None:
    event = booking()
    response = post(client, event)
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 1 and answer["rejected"] == 0
    assert answer["results"] == [
        {"index": 0, "status": "accepted", "event_id": event["event_id"], "position": answer["position"]}
    ]
    assert stored_ids(db) == [event["event_id"]]
    xact_id, seq = db.execute("select xact_id::text::bigint, seq from pulse.events").fetchone() or (0, 0)
    assert answer["position"] == f"{xact_id}/{seq}"


@pytest.mark.parametrize("kind", sorted(REQUIRED_DATA))
def test_every_event_type_is_accepted(kind: str, client: TestClient, db: psycopg.Connection[Any]) -> None:
    event = make_event(kind)
    assert post(client, event).status_code == 200
    assert db.execute("select type, data from pulse.events").fetchone() == (kind, event["data"])


REQUIRED_FIELDS = [(kind, name) for kind, data in sorted(REQUIRED_DATA.items()) for name in data]


@pytest.mark.parametrize(("kind", "missing"), REQUIRED_FIELDS)
def test_a_missing_required_field_is_named(kind: str, missing: str, client: TestClient) -> None:
    event = make_event(kind)
    del event["data"][missing]
    response = post(client, event)
    assert response.status_code == 422
    assert response.json()["results"][0]["errors"] == [{"field": f"data.{missing}", "message": "Field required"}]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"event_id": 12}, "event_id"),
        ({"type": "booking.exploded"}, "type"),
        ({"occurred_at": "2026-11-25T10:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1764064800}, "occurred_at"),
        ({"occurred_at": "1999-12-31T23:59:59Z"}, "occurred_at"),
        ({"occurred_at": (datetime.now(UTC) + timedelta(days=3)).isoformat()}, "occurred_at"),
        ({"data": "a booking"}, "data"),
        ({"source": "crm"}, "source"),
    ],
)
def test_a_bad_envelope_field_is_named(change: dict[str, Any], field: str, client: TestClient) -> None:
    response = post(client, {**booking(), **change})
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["results"][0]["errors"]]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"total_amount": "-0.01"}, "data.total_amount"),
        ({"total_amount": "12.3.4"}, "data.total_amount"),
        ({"total_amount": "NaN"}, "data.total_amount"),
        ({"total_amount": "1.00001"}, "data.total_amount"),
        ({"currency": "EURO"}, "data.currency"),
        ({"currency": "XYZ"}, "data.currency"),
        ({"currency": "eur"}, "data.currency"),
        ({"destination": ""}, "data.destination"),
        ({"customer_id": 42}, "data.customer_id"),
        ({"travel_date": "next June"}, "data.travel_date"),
    ],
)
def test_a_bad_data_field_is_named(data: dict[str, Any], field: str, client: TestClient) -> None:
    event = booking()
    event["data"].update(data)
    response = post(client, event)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["results"][0]["errors"]] == [field]


def test_every_reason_is_reported_at_once(client: TestClient, db: psycopg.Connection[Any]) -> None:
    event = {"event_id": "x", "type": "booking.created", "occurred_at": "soon", "data": {"total_amount": "-1"}}
    response = post(client, event)
    fields = {error["field"] for error in response.json()["results"][0]["errors"]}
    assert {"event_id", "occurred_at", "data.booking_id", "data.currency", "data.total_amount"} <= fields
    [(raw, reasons)] = quarantined(db)
    assert json.loads(raw) == event
    assert {reason["field"] for reason in reasons} == fields


def test_unknown_type_still_reports_envelope_errors(client: TestClient) -> None:
    response = post(client, {"event_id": "x", "type": "refund.issued"})
    fields = {error["field"] for error in response.json()["results"][0]["errors"]}
    assert fields == {"type", "event_id", "occurred_at", "data"}


def test_extra_data_fields_and_exact_amounts_are_kept(client: TestClient, db: psycopg.Connection[Any]) -> None:
    body = (
        '{"event_id": "EVENT_ID", "type": "booking.created", "occurred_at": "2026-11-01T08:15:00+01:00",'
        ' "data": {"booking_id": "b", "customer_id": "c", "destination": "Porto", "booking_type": "hotel",'
        ' "total_amount": 1234567890.1234, "currency": "EUR", "promo": {"code": "X1"}}}'
    ).replace("EVENT_ID", str(uuid.uuid4()))
    assert post(client, body).status_code == 200
    row = db.execute("select (data->>'total_amount')::numeric, data->'promo'->>'code', occurred_at from pulse.events")
    amount, promo, occurred_at = row.fetchone() or (None, None, None)
    assert str(amount) == "1234567890.1234"
    assert promo == "X1"
    assert occurred_at == datetime(2026, 11, 1, 7, 15, tzinfo=UTC)


def test_mixed_batch_answers_207_and_stores_the_good_ones(client: TestClient, db: psycopg.Connection[Any]) -> None:
    good, bad = booking(), {**booking(), "occurred_at": "2026-01-01"}
    response = post(client, [good, bad])
    assert response.status_code == 207
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected"]
    assert stored_ids(db) == [good["event_id"]]
    assert [json.loads(raw)["event_id"] for raw, _ in quarantined(db)] == [bad["event_id"]]


def test_ndjson_with_a_broken_line(client: TestClient, db: psycopg.Connection[Any]) -> None:
    first, second = booking(), booking()
    body = f"{json.dumps(first)}\n\n{{not json\n{json.dumps(second)}\n"
    response = post(client, body, "application/x-ndjson")
    assert response.status_code == 207
    statuses = [(r["index"], r["status"]) for r in response.json()["results"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "accepted")]
    assert "line 3 is not valid JSON" in response.json()["results"][1]["errors"][0]["message"]
    assert quarantined(db)[0][0] == b"{not json"
    assert stored_ids(db) == [first["event_id"], second["event_id"]]


def test_resending_an_event_is_a_duplicate_even_with_another_time(
    client: TestClient, db: psycopg.Connection[Any]
) -> None:
    event = booking()
    assert post(client, event).json()["accepted"] == 1
    resent = {**event, "occurred_at": (datetime.now(UTC) - timedelta(days=30)).isoformat()}
    response = post(client, [resent, booking()])
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["duplicate", "accepted"]
    assert stored_ids(db).count(event["event_id"]) == 1


def test_a_repeat_within_one_body_is_stored_once(client: TestClient, db: psycopg.Connection[Any]) -> None:
    event = booking()
    response = post(client, [event, event])
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "duplicate"]
    assert stored_ids(db) == [event["event_id"]]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b'[{"event_id": ', "application/json", 400, "not valid JSON"),
        (b"\xff\xfe{}", "application/json", 400, "not UTF-8"),
        (b"[]", "application/json", 400, "no events"),
        (b"", "application/x-ndjson", 400, "no events"),
        (b"[NaN]", "application/json", 400, "not valid JSON"),
        (b"<xml/>", "text/xml", 415, "Content-Type"),
    ],
)
def test_an_unreadable_body_is_refused_and_quarantined(
    body: bytes, content_type: str, status: int, message: str, client: TestClient, db: psycopg.Connection[Any]
) -> None:
    response = post(client, body, content_type)
    assert response.status_code == status
    assert message in response.json()["error"]
    [(raw, reasons)] = quarantined(db)
    assert raw == body
    assert message in reasons[0]["message"]
    assert stored_ids(db) == []


def test_a_body_over_the_limit_is_413(database_url: str, db: psycopg.Connection[Any]) -> None:
    settings = Settings(database_url=database_url, use_local_cluster=False, max_body_bytes=2000, auth="off")
    with TestClient(create_app(settings)) as small_client:
        events = [booking() for _ in range(20)]
        response = post(small_client, events)
        assert response.status_code == 413
        assert "limit of 2000 bytes" in response.json()["error"]

        def chunks() -> Any:
            for event in events:
                yield json.dumps(event).encode() + b"\n"

        # Without Content-Length the limit holds while streaming.
        streamed = small_client.post("/v1/events", content=chunks(), headers={"Content-Type": "application/x-ndjson"})
        assert streamed.status_code == 413
    assert stored_ids(db) == []


def test_events_cannot_be_changed_or_deleted(client: TestClient, db: psycopg.Connection[Any]) -> None:
    post(client, booking())
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db.execute("update pulse.events set type = 'booking.cancelled'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db.execute("delete from pulse.events")
    assert len(stored_ids(db)) == 1


def test_schema_describes_every_type(client: TestClient) -> None:
    schema = client.get("/v1/schema").json()
    variants = {
        name: definition for name, definition in schema["$defs"].items() if "type" in definition.get("properties", {})
    }
    types = {definition["properties"]["type"]["const"] for definition in variants.values()}
    assert types == set(REQUIRED_DATA)
    created = schema["$defs"]["BookingCreatedData"]
    assert set(created["required"]) == set(REQUIRED_DATA["booking.created"])


def test_a_second_creation_of_a_booking_is_rejected_and_quarantined(
    client: TestClient, db: psycopg.Connection[Any]
) -> None:
    first = booking()
    again = {**booking(), "data": first["data"]}
    response = post(client, [first, again])
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["errors"] == [
        {
            "field": "data.booking_id",
            "message": f"booking {first['data']['booking_id']} was already created by event {first['event_id']}",
        }
    ]
    # A resend of the first is still just a duplicate; the second stays rejected.
    assert [r["status"] for r in post(client, [first, again]).json()["results"]] == ["duplicate", "rejected"]
    quarantined = db.execute("select raw from pulse.quarantine").fetchall()
    assert len(quarantined) == 2
    assert all(json.loads(row[0])["event_id"] == again["event_id"] for row in quarantined)


async def against_a_claim_in_progress(
    database_url: str, db: psycopg.Connection[Any], first: dict[str, Any], rivals: list[dict[str, Any]]
) -> list[ingest.Item]:
    """The rivals' answers, appended while a request storing first has claimed its booking but not committed.

    The first request commits once a rival waits on its claim (a lock wait, awaited as a condition).
    """
    async with await psycopg.AsyncConnection.connect(database_url) as early:
        async with early.transaction():
            items = ingest.parse_body(json.dumps(first).encode(), "application/json")
            ingest.validate(items)
            await ingest.store(early, items, "application/json")
            late = asyncio.create_task(append(database_url, rivals))
            while not db.execute(
                "select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"
            ).fetchone():
                await asyncio.sleep(0.01)
        return await late


def test_two_requests_creating_one_booking_at_once_store_it_once(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    first = booking()
    rival = {**booking(), "data": first["data"]}

    [result] = asyncio.run(against_a_claim_in_progress(database_url, db, first, [rival]))
    assert result.status == "rejected"
    # The rival waited for the first request's commit, and is told which event holds the booking.
    assert result.reasons[0].message == (
        f"booking {first['data']['booking_id']} was already created by event {first['event_id']}"
    )
    assert db.execute("select count(*) from pulse.events").fetchone() == (1,)
    assert db.execute("select count(*) from pulse.quarantine").fetchone() == (1,)


def test_a_rival_already_on_the_careful_path_is_told_the_booking_was_created_meanwhile(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    # The rival request also holds a creation of a booking taken long ago: its plain inserts fail at once,
    # and it meets the first request's claim, not yet committed, on the careful path.
    taken = booking()
    append_in(db, taken)
    db.commit()
    first = booking()
    rivals = [{**booking(), "data": taken["data"]}, {**booking(), "data": first["data"]}]

    old, raced = asyncio.run(against_a_claim_in_progress(database_url, db, first, rivals))
    assert (old.status, raced.status) == ("rejected", "rejected")
    assert old.reasons[0].message == (
        f"booking {taken['data']['booking_id']} was already created by event {taken['event_id']}"
    )
    # Its statement began before the first request committed, so it cannot name the event that holds the booking.
    assert raced.reasons[0].message == f"booking {first['data']['booking_id']} was created meanwhile by another request"
    assert stored_ids(db) == [taken["event_id"], first["event_id"]]
    assert db.execute("select count(*) from pulse.quarantine").fetchone() == (2,)


def test_a_request_with_one_old_event_stores_every_new_one_in_order(db: psycopg.Connection[Any]) -> None:
    """The write contract itself: one event seen before, or one booking taken, and the rest of the
    request is still stored, in request order, with the booking ids of its creations claimed."""
    seen, taken = booking(), booking()
    for event in (seen, taken):
        append_in(db, event)
    db.commit()
    rival = {**booking(), "data": taken["data"]}
    new = [booking(), make_event("search.performed"), booking()]
    events = [new[0], seen, new[1], rival, new[2]]
    rows = db.execute(
        query("append_events"),
        {
            "event_ids": [e["event_id"] for e in events],
            "types": [e["type"] for e in events],
            "occurred_ats": [e["occurred_at"] for e in events],
            "datas": [json.dumps(e["data"]) for e in events],
        },
    ).fetchall()
    db.commit()
    # (place in the request, booking taken, its holder): the resend answers nothing.
    assert sorted((row[0], row[3], row[4] and str(row[4])) for row in rows) == [
        (1, False, None),
        (3, False, None),
        (4, True, taken["event_id"]),
        (5, False, None),
    ]
    assert stored_ids(db)[-3:] == [e["event_id"] for e in new]
    claimed = db.execute(
        "select booking_id, event_id::text from pulse.booking_ids where booking_id = any(%s)",
        [[new[0]["data"]["booking_id"], new[2]["data"]["booking_id"], taken["data"]["booking_id"]]],
    ).fetchall()
    assert sorted(claimed) == sorted([(e["data"]["booking_id"], e["event_id"]) for e in (new[0], new[2], taken)])
    # Each creation stored, on the plain path (seen, taken) or the careful one, is marked as holding its
    # booking, so that projections need not look it up; other events are not marked.
    marked = db.execute("select event_id::text, holds_booking from pulse.events").fetchall()
    assert sorted(marked) == sorted(
        (e["event_id"], True if e["type"] == "booking.created" else None) for e in (seen, taken, *new)
    )


def test_status_tells_when_projections_have_passed_a_position(client: TestClient) -> None:
    position = post(client, booking()).json()["position"]

    def caught_up() -> bool:
        status = client.get("/v1/status", params={"position": position}).json()
        return all(projection["caught_up"] for projection in status["projections"].values())

    wait_for(caught_up)
    status = client.get("/v1/status").json()
    assert status["events"] == 1
    assert set(status["projections"]) == {p.name for p in ALL_PROJECTIONS}
    for projection in status["projections"].values():
        assert projection["lag"] == 0
        assert projection["checkpoint"] == position
        assert projection["state"] == "running"
    assert client.get("/v1/status", params={"position": "soon"}).status_code == 400


@pytest.mark.parametrize(
    ("amount", "why"),
    [("1_000", "underscores"), ("\u0663", "non-ASCII digits"), ("1e3", "exponent in a string"), (True, "boolean")],
)
def test_amounts_postgres_could_misread_are_rejected(amount: Any, why: str, client: TestClient) -> None:
    event = booking()
    event["data"]["total_amount"] = amount
    response = post(client, event)
    assert response.status_code == 422, why
    assert response.json()["results"][0]["errors"][0]["field"] == "data.total_amount"


@pytest.mark.parametrize("text", ["nul\u0000byte", "lone \ud800 surrogate"])
def test_text_jsonb_cannot_hold_is_rejected_and_quarantined(
    text: str, client: TestClient, db: psycopg.Connection[Any]
) -> None:
    event = booking()
    event["data"]["note"] = text
    response = post(client, [event, booking()])
    assert response.status_code == 207
    assert response.json()["results"][0]["errors"][0]["field"] == "data.note"
    assert len(quarantined(db)) == 1 and len(stored_ids(db)) == 1


def with_odd_text(where: str, text: str) -> dict[str, Any]:
    event = booking()
    if where == "data key":
        event["data"][f"note{text}"] = 1
    elif where == "nested key":
        event["data"]["extra"] = {"deeper": [{text: "value"}]}
    elif where == "envelope key":
        event[text] = 1
    elif where == "event_id":
        event["event_id"] = text
    else:
        event["type"] = text
    return event


@pytest.mark.parametrize("where", ["data key", "nested key", "envelope key", "event_id", "type"])
@pytest.mark.parametrize("text", ["nul\u0000byte", "lone \ud800 surrogate", "\udfff"])
@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_odd_text_anywhere_is_a_reason_not_a_500_and_the_good_events_are_stored(
    where: str, text: str, content_type: str, client: TestClient, db: psycopg.Connection[Any]
) -> None:
    events = [with_odd_text(where, text), booking()]
    body = (
        "\n".join(json.dumps(event) for event in events) if content_type != "application/json" else json.dumps(events)
    )
    response = client.post("/v1/events", content=body.encode(), headers={"Content-Type": content_type})
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "rejected" and results[0]["errors"], results[0]
    assert results[1]["status"] == "accepted"
    assert len(quarantined(db)) == 1 and stored_ids(db) == [events[1]["event_id"]]


def test_ndjson_lines_end_only_at_newline(client: TestClient, db: psycopg.Connection[Any]) -> None:
    event = booking()
    event["data"]["note"] = "para\u2029graph\u2028line"
    body = json.dumps(event, ensure_ascii=False) + "\r\n" + json.dumps(booking())
    response = post(client, body.encode(), "application/x-ndjson")
    assert response.status_code == 200
    assert len(stored_ids(db)) == 2


@pytest.mark.parametrize("body", [b"[" * 100000, b"[" + b"9" * 5000 + b"]"])
def test_pathological_json_is_a_400(body: bytes, client: TestClient) -> None:
    assert post(client, body).status_code == 400


def test_events_nested_too_deeply_are_refused_with_a_reason_and_quarantined(
    client: TestClient, db: psycopg.Connection[Any]
) -> None:
    deep: Any = "bottom"
    for _ in range(ingest.MAX_NESTING + 5):
        deep = {"d": deep}
    event = booking()
    event["data"]["extra"] = deep
    lines = json.dumps(event) + "\n" + json.dumps(booking())
    response = client.post("/v1/events", content=lines.encode(), headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 207
    assert "nests deeper" in response.json()["results"][0]["errors"][0]["message"]
    as_array = client.post(
        "/v1/events", content=json.dumps([event]).encode(), headers={"Content-Type": "application/json"}
    )
    assert as_array.status_code == 400 and as_array.json()["quarantined"] is True
    assert len(quarantined(db)) == 2 and len(stored_ids(db)) == 1
