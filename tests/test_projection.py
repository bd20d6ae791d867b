"""The bookings_hourly projection against independent recomputes from the raw events."""

import asyncio
import json
import signal
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from app import ingest
from app.db import make_pool
from app.settings import Settings
from app.sql import query
from projections.bookings_hourly import BOOKINGS_HOURLY
from projections.worker import ProjectionWorker
from tests.conftest import pulse_process, wait_for
from tests.events import booking, make_event

Row = tuple[datetime, str, str, str, int, Decimal]

RECOMPUTE = """
select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00'), data->>'destination',
       data->>'booking_type', data->>'currency', count(*), sum((data->>'total_amount')::numeric)
from pulse.events where type = 'booking.created'
group by 1, 2, 3, 4 order by 1, 2, 3, 4
"""
ROLLUP = """
select bucket, destination, booking_type, currency, bookings, gross_revenue
from analytics.bookings_hourly order by 1, 2, 3, 4
"""


def rollup(db: psycopg.Connection[Any]) -> list[Row]:
    return [tuple(row) for row in db.execute(ROLLUP).fetchall()]


def recompute(db: psycopg.Connection[Any]) -> list[Row]:
    return [tuple(row) for row in db.execute(RECOMPUTE).fetchall()]


def expected_from(sent: list[dict[str, Any]]) -> list[Row]:
    """The rollup computed in Python from what was sent: first copy of an event_id wins."""
    seen: set[str] = set()
    bookings: Counter[tuple[datetime, str, str, str]] = Counter()
    revenue: defaultdict[tuple[datetime, str, str, str], Decimal] = defaultdict(Decimal)
    for event in sent:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        if event["type"] != "booking.created":
            continue
        hour = datetime.fromisoformat(event["occurred_at"]).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        data = event["data"]
        key = (hour, data["destination"], data["booking_type"], data["currency"])
        bookings[key] += 1
        revenue[key] += Decimal(data["total_amount"])
    return [(*key, bookings[key], revenue[key]) for key in sorted(bookings)]


async def append(database_url: str, events: list[dict[str, Any]]) -> None:
    items = ingest.parse_body(json.dumps(events).encode(), "application/json")
    ingest.validate(items)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await ingest.store(conn, items, "application/json")


async def drain(settings: Settings, batch_size: int) -> int:
    """Runs one fresh worker (as after a restart) until the log is applied; returns the batches."""
    async with make_pool(settings.database_url, max_size=2) as pool:
        worker = ProjectionWorker(pool, BOOKINGS_HOURLY, replace(settings, batch_size=batch_size))
        await worker.ensure_checkpoint()
        batches = 0
        while (await worker.run_batch()).events:
            batches += 1
        return batches


def test_rollup_counts_bookings_per_hour_destination_type_and_currency(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    hour = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    sent = [
        booking("Lisbon", "flight", "100.10", "EUR", hour),
        booking("Lisbon", "flight", "50.05", "EUR", hour + timedelta(minutes=20)),
        booking("Lisbon", "flight", "70", "EUR", hour + timedelta(minutes=40)),  # next hour
        booking("Lisbon", "hotel", "80", "EUR", hour),
        booking("Lisbon", "flight", "90", "GBP", hour),
        make_event("search.performed", hour),
        make_event("booking.cancelled", hour),
    ]
    asyncio.run(append(settings.database_url, sent))
    asyncio.run(drain(settings, batch_size=3))
    assert rollup(db) == [
        (datetime(2026, 3, 29, 0, tzinfo=UTC), "Lisbon", "flight", "EUR", 2, Decimal("150.15")),
        (datetime(2026, 3, 29, 0, tzinfo=UTC), "Lisbon", "flight", "GBP", 1, Decimal("90")),
        (datetime(2026, 3, 29, 0, tzinfo=UTC), "Lisbon", "hotel", "EUR", 1, Decimal("80")),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), "Lisbon", "flight", "EUR", 1, Decimal("70")),
    ]
    avg = db.execute("select avg_booking_value from analytics.bookings_hourly where bookings = 2").fetchone()
    assert avg == (Decimal("75.08"),)


OFFSETS = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
START = datetime(2026, 3, 28, 20, tzinfo=UTC)  # spans a DST change in Europe and midnight


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], int]:
    """Chunks of events as sent over time: late and out of order, with resends and other types mixed in."""
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 60))):
        moment = START + timedelta(minutes=draw(st.integers(0, 60 * 30)))
        moment = moment.astimezone(draw(st.sampled_from(OFFSETS)))
        if draw(st.integers(0, 4)) == 0:
            events.append(make_event(draw(st.sampled_from(["search.performed", "booking.cancelled"])), moment))
            continue
        amount = draw(st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False))
        event = booking(
            draw(st.sampled_from(["Lisbon", "Tokyo", "Cancun"])),
            draw(st.sampled_from(["flight", "hotel"])),
            str(amount),
            draw(st.sampled_from(["EUR", "USD", "JPY"])),
            moment,
        )
        events.append(event)
        if draw(st.booleans()) and draw(st.booleans()):
            # A resend, possibly with another time and amount: must not count again.
            resent = {**event, "occurred_at": (moment - timedelta(hours=draw(st.integers(0, 48)))).isoformat()}
            resent["data"] = {**event["data"], "total_amount": "1.00"}
            events.insert(draw(st.integers(0, len(events))), resent)
    cuts = sorted(draw(st.lists(st.integers(0, len(events)), max_size=4)))
    chunks = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    return [chunk for chunk in chunks if chunk], draw(st.integers(1, 25))


def reset(db: psycopg.Connection[Any]) -> None:
    db.execute("truncate pulse.events, pulse.event_ids, pulse.quarantine, pulse.bookings_hourly_rollup")
    db.execute("delete from pulse.projection_checkpoints")


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_rollup_equals_recompute_for_any_history(
    history: tuple[list[list[dict[str, Any]]], int], settings: Settings, db: psycopg.Connection[Any]
) -> None:
    chunks, batch_size = history
    reset(db)
    sent: list[dict[str, Any]] = []
    for chunk in chunks:
        asyncio.run(append(settings.database_url, chunk))
        sent.extend(chunk)
        # A new worker per chunk: each one resumes from the checkpoint, as after a restart.
        asyncio.run(drain(settings, batch_size))
    assert rollup(db) == expected_from(sent)
    assert rollup(db) == recompute(db)


def append_in(conn: psycopg.Connection[Any], event: dict[str, Any]) -> tuple[int, int]:
    row = conn.execute(
        query("append_events"),
        {
            "event_ids": [event["event_id"]],
            "types": [event["type"]],
            "occurred_ats": [event["occurred_at"]],
            "datas": [Jsonb(event["data"])],
        },
    ).fetchone()
    assert row is not None
    return row[1], row[2]


def warm_up_chunk(database_url: str) -> None:
    # An uncommitted transaction that creates a hypertable chunk blocks other
    # inserts into it; commit one event first so both writers share a chunk.
    with psycopg.connect(database_url) as conn:
        append_in(conn, booking("Warm-up"))


def test_a_transaction_that_commits_late_is_not_skipped(
    settings: Settings, database_url: str, db: psycopg.Connection[Any]
) -> None:
    """T1 writes first (lower position) but commits after T2; a reader following positions must see both."""
    warm_up_chunk(database_url)
    with psycopg.connect(database_url) as t1, psycopg.connect(database_url) as t2:
        early = append_in(t1, booking("Early"))
        late = append_in(t2, booking("Late"))
        assert early < late
        t2.commit()
        asyncio.run(drain(settings, batch_size=10))
        checkpoint = db.execute(
            "select xact_id::text::bigint, seq from pulse.projection_checkpoints where projection = 'bookings_hourly'"
        ).fetchone()
        assert checkpoint is not None and tuple(checkpoint) < early, "the checkpoint moved past an open transaction"
        t1.commit()
    asyncio.run(drain(settings, batch_size=10))
    assert sorted(row[1] for row in rollup(db)) == ["Early", "Late", "Warm-up"]


def test_a_transaction_with_an_older_id_but_later_insert_is_not_skipped(
    settings: Settings, database_url: str, db: psycopg.Connection[Any]
) -> None:
    """T1 takes its transaction id first, inserts after T2 (higher seq), and commits last."""
    warm_up_chunk(database_url)
    with psycopg.connect(database_url) as t1, psycopg.connect(database_url) as t2:
        t1.execute("select pg_current_xact_id()")
        first_written = append_in(t2, booking("Second"))
        last_written = append_in(t1, booking("First"))
        assert last_written[1] > first_written[1] and last_written[0] < first_written[0]
        t2.commit()
        asyncio.run(drain(settings, batch_size=10))
        assert [row[1] for row in rollup(db)] == ["Warm-up"]
        t1.commit()
    asyncio.run(drain(settings, batch_size=10))
    assert sorted(row[1] for row in rollup(db)) == ["First", "Second", "Warm-up"]


def seed(database_url: str, count: int, per_transaction: int = 2000) -> None:
    hours = [datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=7 * i) for i in range(300)]
    for start in range(0, count, per_transaction):
        events = [
            booking(
                ["Lisbon", "Tokyo", "Cancun", "Paris"][i % 4],
                ["flight", "hotel"][i % 2],
                f"{i % 997}.{i % 100:02d}",
                ["EUR", "USD"][i % 2],
                hours[i % len(hours)],
            )
            for i in range(start, min(start + per_transaction, count))
        ]
        asyncio.run(append(database_url, events))


def test_a_worker_killed_mid_stream_resumes_exactly(database_url: str, db: psycopg.Connection[Any]) -> None:
    seed(database_url, 30000)

    def batches() -> int:
        row = db.execute("select batch_no from pulse.projection_checkpoints where projection = 'bookings_hourly'")
        found = row.fetchone()
        return int(found[0]) if found else 0

    def lag() -> int:
        row = db.execute(query("projection_lag"), {"projection": "bookings_hourly"}).fetchone()
        return int(row[0]) if row else -1

    for kills in range(1, 4):
        worker = pulse_process(["work"], database_url, PULSE_BATCH_SIZE="300")
        target = kills * 12
        wait_for(lambda: batches() >= target)  # noqa: B023 (called within this iteration)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert lag() > 0, "the worker finished before it was killed"
        # What is committed is whole batches: the rollup equals the events up to the checkpoint.
        projected = db.execute("select coalesce(sum(bookings), 0) from pulse.bookings_hourly_rollup").fetchone()
        assert projected == (30000 - lag(),)

    worker = pulse_process(["work"], database_url, PULSE_BATCH_SIZE="300")
    try:
        wait_for(lambda: lag() == 0, timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    assert rollup(db) == recompute(db)
    assert sum(row[4] for row in rollup(db)) == 30000


def test_the_batch_cursor_uses_the_position_index(database_url: str, db: psycopg.Connection[Any]) -> None:
    seed(database_url, 4000)
    db.execute("analyze pulse.events")
    plan = db.execute(
        "explain (format json) " + query("next_batch_end"),
        {"xact_id": 0, "seq": 0, "horizon": 2**40, "batch_size": 500},
    ).fetchone()
    assert plan is not None
    assert "events_position" in json.dumps(plan[0]), "the batch cursor does not use the (xact_id, seq) index"
