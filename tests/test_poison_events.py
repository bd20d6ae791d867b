"""Poison events: a projection, or a rebuild, stops right before an event it cannot apply."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb
from starlette.testclient import TestClient

from app.api import create_app
from core.db import make_pool
from core.settings import Settings
from projections import BOOKINGS
from projections.replay import ReplayRefused, replay
from projections.verify import verify
from tests.support.events import booking, make_event
from tests.support.model import Model
from tests.support.pipeline import append, drain
from tests.support.processes import wait_for
from tests.support.views import check_views, use_business_settings


def caught_up(client: TestClient) -> bool:
    return all(p.get("lag") == 0 for p in client.get("/v1/status").json()["projections"].values())


def status_of(client: TestClient, projection: str) -> dict[str, Any]:
    report: dict[str, Any] = client.get("/v1/status").json()["projections"][projection]
    return report


def test_a_poison_event_stops_only_its_projection_which_resumes_after_a_fix(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    # A stand-in for a bug: the conversion rollup cannot take one destination.
    db.execute("alter table pulse_conversion.hourly add constraint no_poison check (destination <> 'Poison')")
    before = [booking("Lisbon") for _ in range(5)]
    poison = make_event("search.performed", destination="Poison")
    after = [booking("Tokyo") for _ in range(5)]
    asyncio.run(append(settings.database_url, before))
    asyncio.run(append(settings.database_url, [poison]))
    asyncio.run(append(settings.database_url, after))

    with TestClient(create_app(settings.model_copy(update={"batch_size": 100}))) as client:
        wait_for(
            lambda: status_of(client, "bookings").get("lag") == 0 and status_of(client, "customers").get("lag") == 0
        )
        stuck = wait_for(lambda: (s := status_of(client, "conversion"))["stuck_at_event_id"] and s)
        assert stuck["state"] == "failing"
        assert stuck["stuck_at_event_id"] == poison["event_id"]
        assert "no_poison" in stuck["last_error"]
        assert stuck["lag"] == 6  # the poison event and everything after it waits
        searched = db.execute("select coalesce(sum(bookings), 0) from analytics.conversion_hourly").fetchone()
        assert searched == (5,), "the projection did not stop right before the poison event"

        db.execute("alter table pulse_conversion.hourly drop constraint no_poison")
        wait_for(lambda: status_of(client, "conversion")["lag"] == 0, timeout=40)
        resumed = status_of(client, "conversion")
        assert resumed["state"] == "running" and resumed["stuck_at_event_id"] is None
    assert db.execute("select sum(searches), sum(bookings) from analytics.conversion_hourly").fetchone() == (1, 10)
    assert verify(settings.database_url) == []


def test_a_poison_event_stops_a_rebuild_which_resumes_after_a_fix(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    use_business_settings(db)
    good = [booking("Lisbon", occurred_at=datetime(2026, 3, 29, 10, tzinfo=UTC)) for _ in range(5)]
    asyncio.run(append(settings.database_url, good))
    asyncio.run(drain(settings, batch_size=100))
    # An event no code can apply, stored before validation was what it is now.
    poison = booking("Poison", amount="1", occurred_at=datetime(2026, 3, 29, 11, tzinfo=UTC))
    poison["data"]["total_amount"] = "a lot"
    db.execute("insert into pulse.event_ids values (%s)", (poison["event_id"],))
    db.execute("insert into pulse.booking_ids values (%s, %s)", (poison["data"]["booking_id"], poison["event_id"]))
    db.execute(
        "insert into pulse.events (event_id, type, occurred_at, data) values (%s, %s, %s, %s)",
        (poison["event_id"], poison["type"], poison["occurred_at"], Jsonb(poison["data"])),
    )
    more = [booking("Tokyo", occurred_at=datetime(2026, 3, 29, 12, tzinfo=UTC)) for _ in range(3)]
    asyncio.run(append(settings.database_url, more))
    rebuild = "select events_projected, last_error_event_id from pulse.projection_checkpoints where projection = %s"

    async def replay_until_stuck() -> None:
        async with make_pool(settings.database_url, max_size=3, role=settings.role("projector")) as pool:
            stop = asyncio.Event()
            task = asyncio.create_task(replay(pool, BOOKINGS, settings, stop))
            while (db.execute(rebuild, ("bookings.rebuild",)).fetchone() or (0, None))[1] is None:
                await asyncio.sleep(0.05)
            # A second replay of the same projection is refused while this one runs.
            with pytest.raises(ReplayRefused, match="already running"):
                await replay(pool, BOOKINGS, settings)
            stop.set()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(replay_until_stuck())
    # It stopped right before the poison event, and says which one it is.
    assert db.execute(rebuild, ("bookings.rebuild",)).fetchone() == (5, UUID(poison["event_id"]))

    # The fix: here, taking the event out of the log behind the append-only trigger's back.
    db.execute("set session_replication_role = replica")
    db.execute("delete from pulse.events where event_id = %s", (poison["event_id"],))
    db.execute("set session_replication_role = origin")

    async def replay_again() -> bool:
        async with make_pool(settings.database_url, max_size=3, role=settings.role("projector")) as pool:
            return (await replay(pool, BOOKINGS, settings)).resumed

    assert asyncio.run(replay_again()) is True
    asyncio.run(drain(settings, batch_size=100))
    check_views(db, Model(good + more))
    assert verify(settings.database_url) == []
