"""pulse replay and projection versions: rebuild from the log, swap in while serving."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from core.db import make_pool
from core.settings import Settings
from projections import ALL_PROJECTIONS, BOOKINGS, CONVERSION
from projections.replay import ReplayRefused, replay
from projections.verify import verify
from tests.support.events import booking
from tests.support.model import Model
from tests.support.pipeline import append, drain, running_projections, until
from tests.support.processes import pulse, wait_for
from tests.support.views import AnyStringWith, check_views, history, use_business_settings


def caught_up(client: TestClient) -> bool:
    return all(p.get("lag") == 0 for p in client.get("/v1/status").json()["projections"].values())


def status_of(client: TestClient, projection: str) -> dict[str, Any]:
    report: dict[str, Any] = client.get("/v1/status").json()["projections"][projection]
    return report


def test_replay_rebuilds_and_swaps_in_while_the_server_keeps_serving(
    settings: Settings, client: TestClient, db: psycopg.Connection[Any]
) -> None:
    use_business_settings(db)
    db.execute("do $$ begin create role analyst; exception when duplicate_object then null; end $$")
    db.execute("grant select on analytics.bookings_daily, analytics.kpis_today to analyst")
    sent = history(datetime(2026, 3, 28, 23, tzinfo=UTC))
    asyncio.run(append(settings.database_url, sent))
    wait_for(lambda: status_of(client, "bookings")["lag"] == 0)
    # A bug corrupted the rollup; the events are intact.
    db.execute("update pulse_bookings.hourly set gross_revenue = 0")
    assert verify(settings.database_url) != []

    async def replay_while_writing() -> None:
        async with make_pool(settings.database_url, max_size=2, role=settings.role("projector")) as pool:
            more = [booking("Oslo", occurred_at=datetime(2026, 3, 29, 9, tzinfo=UTC)) for _ in range(30)]
            writing = asyncio.create_task(append(settings.database_url, more))
            await replay(pool, BOOKINGS, settings)
            await writing
            sent.extend(more)

    asyncio.run(replay_while_writing())
    wait_for(lambda: caught_up(client))
    check_views(db, Model(sent))
    assert verify(settings.database_url) == []
    checkpoint = db.execute(
        "select version, generation from pulse.projection_checkpoints where projection = 'bookings'"
    ).fetchone()
    assert checkpoint == (BOOKINGS.version, 1)
    leftovers = db.execute("select count(*) from pg_namespace where nspname like '%%rebuild'").fetchone()
    assert leftovers == (0,)
    # The views were re-created with the privileges they had.
    readable = "select has_table_privilege('analyst', %s, 'select')"
    assert db.execute(readable, ("analytics.bookings_daily",)).fetchone() == (True,)
    assert db.execute(readable, ("analytics.kpis_today",)).fetchone() == (True,)
    assert db.execute(readable, ("analytics.bookings_hourly",)).fetchone() == (False,)


def test_a_new_projection_version_rebuilds_it(settings: Settings, db: psycopg.Connection[Any]) -> None:
    use_business_settings(db)
    sent = history(datetime(2026, 3, 28, 23, tzinfo=UTC))
    asyncio.run(append(settings.database_url, sent))
    asyncio.run(drain(settings, batch_size=100))
    # As if the rollup had been built by version 0, which computed something else.
    db.execute("update pulse.projection_checkpoints set version = 0 where projection = 'bookings'")
    db.execute("update pulse_bookings.hourly set bookings = 7")

    async def run_projections() -> None:
        async with running_projections(settings, [BOOKINGS]):
            version = "select version from pulse.projection_checkpoints where projection = 'bookings'"
            await until(lambda: db.execute(version).fetchone() == (BOOKINGS.version,))

    asyncio.run(run_projections())
    check_views(db, Model(sent))


def test_replay_is_refused_once_retention_dropped_events(settings: Settings, db: psycopg.Connection[Any]) -> None:
    db.execute(
        "insert into pulse.retention_runs (keep, dropped_before, chunks_dropped) "
        "values ('400 days', now() - interval '400 days', 3)"
    )

    async def attempt() -> None:
        async with make_pool(settings.database_url, max_size=2, role=settings.role("projector")) as pool:
            await replay(pool, BOOKINGS, settings)

    with pytest.raises(ReplayRefused, match="dropped by retention"):
        asyncio.run(attempt())
    refused = pulse(settings.database_url, "replay", "bookings")
    assert refused.returncode == 1 and "would lose them" in refused.stderr
    assert pulse(settings.database_url, "replay", "nonsense").returncode == 2

    # The runner of a newer version does not rebuild either: it says why and waits.
    asyncio.run(drain(settings, batch_size=10))
    db.execute("update pulse.projection_checkpoints set version = 0 where projection = 'bookings'")

    async def run_projections() -> None:
        async with running_projections(settings, [BOOKINGS]):
            error = "select last_error from pulse.projection_checkpoints where projection = 'bookings'"
            await until(lambda: (db.execute(error).fetchone() or [None])[0])

    asyncio.run(run_projections())
    checkpoint = db.execute(
        "select version, last_error from pulse.projection_checkpoints where projection = 'bookings'"
    )
    assert checkpoint.fetchone() == (0, AnyStringWith("dropped by retention"))


@pytest.mark.parametrize("projection", [BOOKINGS, CONVERSION])
def test_replay_swaps_only_its_projection(projection: Any, settings: Settings, db: psycopg.Connection[Any]) -> None:
    use_business_settings(db)
    sent = history(datetime(2026, 3, 28, 23, tzinfo=UTC))
    asyncio.run(append(settings.database_url, sent))
    asyncio.run(drain(settings, batch_size=3))
    done = pulse(settings.database_url, "replay", projection.name)
    assert done.returncode == 0, done.stderr
    generations = dict(db.execute("select projection, generation from pulse.projection_checkpoints").fetchall())
    assert generations == {p.name: int(p == projection) for p in ALL_PROJECTIONS}
    check_views(db, Model(sent))


@pytest.mark.parametrize("projection", [BOOKINGS, CONVERSION])
def test_a_replay_before_any_worker_ran_hands_its_position_to_the_workers(
    projection: Any, settings: Settings, db: psycopg.Connection[Any]
) -> None:
    # A backfill: events loaded, then `pulse replay` before any worker ever ran (as make bench-large does).
    use_business_settings(db)
    sent = history(datetime(2026, 3, 28, 23, tzinfo=UTC))
    asyncio.run(append(settings.database_url, sent))
    assert db.execute("select count(*) from pulse.projection_checkpoints").fetchone() == (0,)
    done = pulse(settings.database_url, "replay", projection.name)
    assert done.returncode == 0, done.stderr
    # The workers then go on from where the rebuild ended: each event counts once.
    more = [booking("Oslo", occurred_at=datetime(2026, 3, 29, 9, tzinfo=UTC)) for _ in range(5)]
    asyncio.run(append(settings.database_url, more))
    asyncio.run(drain(settings, batch_size=3))
    check_views(db, Model(sent + more))
    assert verify(settings.database_url) == []


def test_a_swap_refuses_to_drop_someone_elses_view(settings: Settings, db: psycopg.Connection[Any]) -> None:
    db.execute("create schema reports")
    db.execute("create view reports.lisbon as select * from analytics.bookings_daily where destination = 'Lisbon'")
    refused = pulse(settings.database_url, "replay", "bookings")
    assert refused.returncode == 1 and "would drop views Booking Pulse does not own: reports.lisbon" in refused.stderr
    assert db.execute("select count(*) from reports.lisbon").fetchone() == (0,)
    # Another projection's swap does not touch it.
    assert pulse(settings.database_url, "replay", "conversion").returncode == 0
