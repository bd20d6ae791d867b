"""Projection workers: exactly once, in commit order, across crashes and late commits."""

import asyncio
import dataclasses
import signal
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import psycopg
import pytest

from core.db import make_pool
from core.settings import Settings
from core.sql import named_queries, query
from projections import BOOKINGS
from projections.verify import verify
from projections.worker import ProjectionWorker
from tests.support.events import booking, make_event, mixed_history
from tests.support.model import Model
from tests.support.pipeline import append, append_in, drain
from tests.support.processes import pulse_process, running_server, wait_for
from tests.support.views import check_views, rollup, use_business_settings


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
        asyncio.run(drain(settings, batch_size=10, patience=0))
        checkpoint = db.execute(
            "select xact_id::text::bigint, seq from pulse.projection_checkpoints where projection = 'bookings'"
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
        asyncio.run(drain(settings, batch_size=10, patience=0))
        assert [row[1] for row in rollup(db)] == ["Warm-up"]
        t1.commit()
    asyncio.run(drain(settings, batch_size=10))
    assert sorted(row[1] for row in rollup(db)) == ["First", "Second", "Warm-up"]


def test_a_worker_that_found_nothing_writes_nothing_and_still_sees_late_commits(
    settings: Settings, database_url: str, db: psycopg.Connection[Any]
) -> None:
    """One long-lived worker: its empty probes lock and write nothing, and skipping a probe while the
    horizon stays put never skips the events of the transaction that held it."""
    warm_up_chunk(database_url)

    def checkpoint_row() -> tuple[Any, ...]:
        # xmax names the last transaction that locked or updated the row.
        row = db.execute(
            "select xmax::text, xact_id::text::bigint, seq"
            " from pulse.projection_checkpoints where projection = 'bookings'"
        ).fetchone()
        assert row is not None
        return tuple(row)

    async def scenario() -> None:
        async with make_pool(settings.database_url, max_size=2, role=settings.role("projector")) as pool:
            worker = ProjectionWorker(pool, BOOKINGS, settings.model_copy(update={"batch_size": 10}))
            await worker.ensure_checkpoint()
            lookups = 0
            look_up = worker.next_batch_end

            async def counted(*args: Any) -> Any:
                nonlocal lookups
                lookups += 1
                return await look_up(*args)

            worker.next_batch_end = counted  # type: ignore[method-assign,assignment]
            while (await worker.run_batch()).events:
                pass
            with psycopg.connect(database_url) as t1, psycopg.connect(database_url) as t2:
                t1.execute("select pg_current_xact_id()")  # holds the horizon from here on
                append_in(t2, booking("Committed"))
                t2.commit()
                idle = checkpoint_row()
                lookups, looked = 0, []
                for _ in range(3):
                    outcome = await worker.run_batch()
                    assert outcome.events == 0 and outcome.writers_running
                    assert checkpoint_row() == idle, "an empty probe locked or moved the checkpoint"
                    looked.append(lookups)
                # A look finds nothing below the horizon; while the horizon stays, the next ones skip it.
                assert looked[0] <= 1 and looked[1] == looked[2] == looked[0]
                append_in(t1, booking("Held the horizon"))
                t1.commit()
            assert (await worker.run_batch()).events == 2

    asyncio.run(scenario())
    assert sorted(row[1] for row in rollup(db)) == ["Committed", "Held the horizon", "Warm-up"]


def test_a_backlog_is_applied_in_full_batches_that_stop_at_the_horizon(
    settings: Settings, database_url: str, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full batch makes the next ones the largest at once, and their ends are taken without counting
    (full_batch_end): each full batch holds exactly its limit, none reaches past a transaction still
    open, and the log is applied once."""
    warm_up_chunk(database_url)
    seed(database_url, 300, per_transaction=45)
    looked_up: list[str] = []

    def counted(name: str) -> Any:
        looked_up.append(name)
        return query(name)

    monkeypatch.setattr("projections.worker.query", counted)

    async def catch_up() -> list[tuple[int, int]]:
        async with make_pool(settings.database_url, max_size=2, role=settings.role("projector")) as pool:
            # Batches of 10, then of 80 (8 times as many) at most.
            projection = dataclasses.replace(BOOKINGS, backlog_batch_events=40)
            worker = ProjectionWorker(pool, projection, settings.model_copy(update={"batch_size": 10}))
            await worker.ensure_checkpoint()
            batches: list[tuple[int, int]] = []
            while True:
                limit = worker.batch_limit
                outcome = await worker.apply_next()
                assert outcome is not None
                if not outcome.events:
                    return batches
                batches.append((limit, outcome.events))

    with psycopg.connect(database_url) as open_writer:
        append_in(open_writer, booking("Open"))  # holds the horizon: nothing after it is applied yet
        seed(database_url, 120, per_transaction=60)
        batches = asyncio.run(catch_up())
        # The warm-up and the first 300; the last 120 came after the open writer.
        assert batches == [(10, 10), (80, 80), (80, 80), (80, 80), (80, 51)]
        assert looked_up.count("full_batch_end") == 4  # the last one found fewer than 80
        open_writer.commit()
    assert asyncio.run(catch_up()) == [(10, 10), (80, 80), (80, 31)]
    row = db.execute("select events_projected from pulse.projection_checkpoints where projection = 'bookings'")
    assert row.fetchone() == (422,)
    assert db.execute("select sum(bookings) from pulse_bookings.hourly").fetchone() == (422,)
    assert verify(database_url, [BOOKINGS]) == []


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


def test_a_worker_killed_mid_batch_resumes_exactly(
    settings: Settings, database_url: str, db: psycopg.Connection[Any]
) -> None:
    sent = mixed_history(4000)
    for start in range(0, len(sent), 2000):
        asyncio.run(append(database_url, sent[start : start + 2000]))
    total = len(sent)

    def projected() -> int:
        row = db.execute("select events_projected from pulse.projection_checkpoints where projection = 'bookings'")
        found = row.fetchone()
        return int(found[0]) if found else 0

    def lag(projection: str = "bookings") -> int:
        # The lag /metrics and the data-quality checks report.
        row = db.execute(named_queries("dq.sql")["projection_lag"], {"projection": projection, "cap": 10**9})
        found = row.fetchone()
        return int(found[0]) if found else -1

    for kills in range(1, 4):
        # Batches of 100, then of 800: a catch-up of many batches, to kill in the middle of one.
        worker = pulse_process(["work"], database_url, PULSE_BATCH_SIZE="100", PULSE_BACKLOG_BATCH_SIZE="800")
        target = kills * total // 5
        try:
            wait_for(lambda: projected() >= target)  # noqa: B023 (called within this iteration)
        finally:
            worker.send_signal(signal.SIGKILL)  # workers are busy all the time: this lands mid-batch
            worker.wait(timeout=10)
        assert 0 < lag() < total, "the worker was not killed mid-stream"
        # Only whole batches were committed: every rollup equals the events up to its checkpoint.
        assert verify(database_url) == []

    worker = pulse_process(["work"], database_url, PULSE_BATCH_SIZE="100")
    try:
        wait_for(lambda: lag() == 0, timeout=90)
        wait_for(lambda: lag("customers") == 0)
        wait_for(lambda: lag("conversion") == 0)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    use_business_settings(db)
    check_views(db, Model(sent))
    assert verify(database_url) == []


def test_a_server_without_projection_workers_leaves_the_projections_to_pulse_work(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    sent = [booking(amount="120.00") for _ in range(3)]
    with running_server(database_url, PULSE_SERVE_PROJECTIONS="false", PULSE_READ_YOUR_WRITES_TIMEOUT="1") as base:
        posted = httpx2.post(base + "/v1/events", json=sent, timeout=10)
        assert posted.status_code == 200 and posted.json()["accepted"] == 3
        after = f"{base}/v1/metrics/kpis?after={posted.json()['position']}"
        # Nothing in the server projects: a read that waits for the POST's events gives up.
        assert httpx2.get(after, timeout=10).status_code == 504
        assert db.execute("select count(*) from pulse_bookings.bookings").fetchone() == (0,)

        worker = pulse_process(["work"], database_url, PULSE_POLL_INTERVAL="0.2")
        try:
            wait_for(lambda: httpx2.get(after, timeout=10).status_code == 200)
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0
        # Counted in the bookings' state, which (unlike today's KPIs) does not depend on the hour of the run.
        assert db.execute("select count(*) from pulse_bookings.bookings").fetchone() == (3,)


def test_the_batch_cursor_uses_the_position_index(database_url: str, db: psycopg.Connection[Any]) -> None:
    seed(database_url, 4000)
    db.execute("analyze pulse.events")
    # The plan pulse.next_batch_end really runs, as auto_explain reports it from inside the function.
    plans: list[str] = []
    db.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    with db.transaction():
        db.execute("load 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_format = json"):
            db.execute(f"set local auto_explain.{setting}")
        db.execute("set local client_min_messages = log")
        db.execute("select * from pulse.next_batch_end('0', 0, '1099511627776', 500)")
    inner = [plan for plan in plans if "pulse.events" in plan]
    assert inner, f"auto_explain reported no plan of the function's query: {plans}"
    assert "events_position" in inner[0], "the batch cursor does not use the (xact_id, seq) index"
    assert '"Sort"' not in inner[0], "the batch cursor sorts the rest of the log"
    bounds = {"xact_id": 0, "seq": 0, "horizon": 2**40, "batch_size": 500}
    batch = db.execute(query("next_batch_end"), bounds).fetchone()
    assert batch is not None and batch[0] == 500
