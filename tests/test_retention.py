"""pulse retention: old raw events go, rollups and unprojected events stay."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from core.settings import Settings
from core.sql import query
from projections.verify import verify
from tests.support.events import booking
from tests.support.model import Model
from tests.support.pipeline import append, drain
from tests.support.processes import pulse
from tests.support.views import check_views, use_business_settings


def test_retention_drops_old_raw_events_but_no_rollup_and_nothing_unprojected(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    use_business_settings(db)
    now = datetime.now(UTC)
    old = [booking("Lisbon", occurred_at=now - timedelta(days=500)) for _ in range(3)]
    recent = [booking("Tokyo", occurred_at=now - timedelta(days=3)) for _ in range(2)]
    asyncio.run(append(settings.database_url, old + recent))
    asyncio.run(drain(settings, batch_size=100))
    late = [booking("Cancun", occurred_at=now - timedelta(days=450))]
    asyncio.run(append(settings.database_url, late))  # not projected yet
    legacy_before = db.execute("select * from analytics.legacy_daily_report order by 1").fetchall()

    done = pulse(settings.database_url, "retention", "--keep", "400d")
    assert done.returncode == 0, done.stderr
    assert "dropped 1 chunks" in done.stdout
    # The old bookings' raw events are gone; the unprojected late one is kept.
    kept = db.execute("select data->>'destination', count(*) from pulse.events group by 1 order by 1").fetchall()
    assert kept == [("Cancun", 1), ("Tokyo", 2)]

    asyncio.run(drain(settings, batch_size=100))
    legacy_after = db.execute("select * from analytics.legacy_daily_report order by 1").fetchall()
    assert len(legacy_after) == len(legacy_before) + 1
    assert set(legacy_before) < set(legacy_after)
    check_views(db, Model(old + recent + late))
    assert verify(settings.database_url) == []

    for nonsense in ("soon", "0d", "99999999999d"):
        refused = pulse(settings.database_url, "retention", "--keep", nonsense)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr


def test_retention_and_replay_never_run_together(settings: Settings, db: psycopg.Connection[Any]) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as replaying:
        replaying.execute(query("take_replay_locks"), {"projection": "customers"})
        refused = pulse(settings.database_url, "retention", "--keep", "400d")
        assert refused.returncode == 1 and "replay is reading the whole log" in refused.stderr
    with psycopg.connect(settings.database_url) as retaining:
        retaining.execute(query("take_retention_lock"))
        refused = pulse(settings.database_url, "replay", "customers")
        assert refused.returncode == 1 and "retention is running" in refused.stderr
    assert pulse(settings.database_url, "replay", "customers").returncode == 0
