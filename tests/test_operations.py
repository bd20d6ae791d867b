"""Operating the analytics: verify, FX rates, replay, versions, poison events, retention, settings."""

import asyncio
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb
from starlette.testclient import TestClient

from app.api import create_app
from app.cli import migrate
from app.db import make_pool
from app.settings import PROJECT_ROOT, Settings
from app.sql import query
from projections import BOOKINGS, CONVERSION
from projections.replay import ReplayRefused, replay
from projections.verify import verify
from projections.worker import ProjectionWorker
from tests.conftest import wait_for
from tests.events import booking, make_event
from tests.model import Model
from tests.pipeline import append, drain
from tests.test_analytics import check_views, use_business_settings


class AnyStringWith(str):
    """Equal to any string containing it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and str(self) in other

    __hash__ = str.__hash__


def pulse(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "PULSE_DATABASE_URL": database_url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def history(at: datetime) -> list[dict[str, Any]]:
    """Two bookings with a modification, a cancellation and a payment, one of them early."""
    first = booking("Lisbon", amount="100.00", currency="EUR", occurred_at=at)
    second = booking("Tokyo", amount="20000", currency="JPY", occurred_at=at + timedelta(minutes=5))
    first_id = first["data"]["booking_id"]
    return [
        make_event("booking.modified", at + timedelta(hours=1), booking_id=first_id, total_amount="150.00"),
        first,
        second,
        make_event("booking.cancelled", at + timedelta(hours=2), booking_id=first_id),
        make_event("payment.captured", at + timedelta(minutes=1), booking_id=first_id, amount="100.00"),
        make_event("search.performed", at, destination="Lisbon"),
    ]


def caught_up(client: TestClient) -> bool:
    return all(p.get("lag") == 0 for p in client.get("/v1/status").json()["projections"].values())


def status_of(client: TestClient, projection: str) -> dict[str, Any]:
    report: dict[str, Any] = client.get("/v1/status").json()["projections"][projection]
    return report


# pulse verify


def test_verify_passes_on_projected_events_and_reports_a_drifted_rollup(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    asyncio.run(append(settings.database_url, history(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))))
    asyncio.run(drain(settings, batch_size=2))
    assert verify(settings.database_url) == []
    done = pulse(settings.database_url, "verify")
    assert done.returncode == 0, done.stderr

    db.execute("update pulse_bookings.hourly set refunds = refunds + 1 where cancellations > 0")
    mismatches = verify(settings.database_url)
    # The hourly rollup differs from the events, and the daily one from the hourly.
    assert [(m.projection, m.key, m.projected, m.recomputed) for m in mismatches] == [
        ("bookings", "2026-03-29 02:00:00+00 Lisbon flight unknown EUR", "(0,0,0,0,1,151.00)", "(0,0,0,0,1,150.00)"),
        (
            "bookings",
            "2026-03-29 Lisbon flight unknown EUR",
            "(1,100.00,1,50.00,1,150.00)",
            "(1,100.00,1,50.00,1,151.00)",
        ),
    ]
    failed = pulse(settings.database_url, "verify")
    assert failed.returncode == 1
    assert "bookings 2026-03-29 02:00:00+00 Lisbon flight unknown EUR" in failed.stdout


def test_a_second_creation_stored_before_booking_ids_existed_counts_nowhere(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    use_business_settings(db)
    first = booking("Lisbon", occurred_at=datetime(2026, 3, 29, 10, tzinfo=UTC))
    asyncio.run(append(settings.database_url, [first]))
    # As 0001 allowed: the same booking created again by another event, stored as is.
    again = {**booking(), "data": first["data"]}
    db.execute("insert into pulse.event_ids values (%s)", (again["event_id"],))
    db.execute(
        "insert into pulse.events (event_id, type, occurred_at, data) values (%s, %s, %s, %s)",
        (again["event_id"], again["type"], again["occurred_at"], Jsonb(again["data"])),
    )
    later = make_event(
        "booking.modified", datetime(2026, 3, 29, 12, tzinfo=UTC), booking_id=first["data"]["booking_id"]
    )
    asyncio.run(append(settings.database_url, [later]))
    asyncio.run(drain(settings, batch_size=1))
    check_views(db, Model([first, later]))
    assert verify(settings.database_url) == []


# Exchange rates


def test_fx_load_converts_at_the_rate_in_force_and_corrections_apply_at_once(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    db.execute("update analytics.settings set timezone = 'Europe/London'")
    # 2026-03-29 is the day London moves to summer time: its midnight is 00:00 UTC.
    at = datetime(2026, 3, 29, 10, tzinfo=UTC)
    asyncio.run(
        append(
            settings.database_url,
            [
                booking("Lisbon", amount="100.00", currency="EUR", occurred_at=at),
                booking("Lisbon", amount="100.00", currency="EUR", occurred_at=at + timedelta(days=1)),
                booking("Tokyo", amount="1000", currency="JPY", occurred_at=at),
            ],
        )
    )
    asyncio.run(drain(settings, batch_size=10))
    series = "select bucket, gross_revenue, missing_rates from analytics.bookings_series(%s, %s, 'day', %s)"
    days = (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 30, 23, tzinfo=UTC))

    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nEUR,2026-03-01,1.10\nEUR,2026-03-30,1.20\n")
    loaded = pulse(settings.database_url, "fx", "load", str(rates))
    assert loaded.returncode == 0, loaded.stderr
    assert "2 added, 0 corrected" in loaded.stdout
    # The second rate starts at London's midnight of the 30th: 23:00 UTC on the 29th.
    starts = db.execute("select valid_from from analytics.fx_rates order by 1").fetchall()
    assert [row[0] for row in starts] == [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 29, 23, tzinfo=UTC)]
    assert db.execute(series, (*days, "Lisbon")).fetchall() == [
        (datetime(2026, 3, 29, tzinfo=UTC), Decimal("110.0000"), None),
        (datetime(2026, 3, 29, 23, tzinfo=UTC), Decimal("120.0000"), None),
    ]
    # Tokyo's yen have no rate: the total is unknown, and says why.
    assert db.execute(series, (*days, "Tokyo")).fetchall()[0][1:] == (None, ["JPY"])

    rates.write_text("currency,valid_from,rate\nEUR,2026-03-30,1.25\nJPY,2026-03-01T00:00:00Z,0.0066\n")
    assert "1 added, 1 corrected" in pulse(settings.database_url, "fx", "load", str(rates)).stdout
    assert db.execute(series, (*days, "Lisbon")).fetchall()[1][1] == Decimal("125.0000")
    assert db.execute(series, (*days, "Tokyo")).fetchall()[0][1:] == (Decimal("6.6000"), None)


def test_fx_load_reports_every_bad_line_and_loads_nothing(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "currency,valid_from,rate\nEUR,2026-03-01,1.1\nXYZ,2026-03-01,1\nGBP,2026-03-01T10:30:00Z,1.2\nCHF,soon,1\n"
        "SEK,2026-03-01,-1\nNOK,2026-03-01T10:00:00+05:30,1\n"
    )
    failed = pulse(settings.database_url, "fx", "load", str(rates))
    assert failed.returncode == 1
    for line, why in (
        (3, "'XYZ' is not an ISO 4217"),
        (4, "must be on the hour"),
        (5, "neither a date"),
        (6, "positive"),
        (7, "must be on the hour"),  # 10:00 at +05:30 is 04:30 UTC
    ):
        reported = [text for text in failed.stderr.splitlines() if f"rates.csv:{line}: " in text]
        assert len(reported) == 1 and why in reported[0], (line, failed.stderr)
    assert db.execute("select count(*) from analytics.fx_rates").fetchone() == (0,)
    rates.write_bytes(b"currency,valid_from,rate\n\xff\xfe,2026-03-01,1\n")
    unreadable = pulse(settings.database_url, "fx", "load", str(rates))
    assert unreadable.returncode == 1 and "not UTF-8" in unreadable.stderr and "Traceback" not in unreadable.stderr


# Settings


def test_migrate_stores_the_business_time_zone_and_currency(database_url: str, db: psycopg.Connection[Any]) -> None:
    migrate(
        Settings(
            database_url=database_url, use_local_cluster=False, timezone="America/New_York", reporting_currency="EUR"
        )
    )
    assert db.execute("select timezone, reporting_currency from analytics.settings").fetchone() == (
        "America/New_York",
        "EUR",
    )
    # The calendar follows: New York's day of 2026-03-08 (DST starts) has 23 hours.
    hours = db.execute("select count(*) from pulse.calendar where day = '2026-03-08'").fetchone()
    assert hours == (23,)


def test_a_new_business_time_zone_regroups_the_days(settings: Settings, db: psycopg.Connection[Any]) -> None:
    sent = history(datetime(2026, 3, 29, 3, 30, tzinfo=UTC))
    asyncio.run(append(settings.database_url, sent))
    asyncio.run(drain(settings, batch_size=3))
    daily = (
        "select day, destination, booking_type, channel, currency, bookings, gross_revenue, modifications, "
        "modification_revenue, cancellations, refunds, net_revenue, unique_customers "
        "from analytics.bookings_daily order by 1, 2, 3, 4, 5"
    )
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):
        db.execute("update analytics.settings set timezone = %s", (zone,))
        assert [tuple(row) for row in db.execute(daily).fetchall()] == Model(sent).bookings_daily(zone)
    assert verify(settings.database_url) == []


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"PULSE_TIMEZONE": "Mars/Olympus_Mons"}, "PULSE_TIMEZONE='Mars/Olympus_Mons' is not an IANA time zone"),
        (
            {"PULSE_TIMEZONE": "Asia/Kolkata"},
            "PULSE_TIMEZONE: time zone Asia/Kolkata has UTC offsets that are not whole",
        ),
        ({"PULSE_REPORTING_CURRENCY": "usd"}, "PULSE_REPORTING_CURRENCY='usd' is not an ISO 4217 currency code"),
    ],
)
def test_settings_the_service_cannot_use_are_refused_with_a_reason(
    database_url: str, env: dict[str, str], why: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env={**os.environ, "PULSE_DATABASE_URL": database_url, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert why in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("zone", "why"), [("Asia/Kolkata", "not whole hours"), ("Mars/Olympus_Mons", "unknown time zone")]
)
def test_time_zones_the_rollups_cannot_serve_are_refused(db: psycopg.Connection[Any], zone: str, why: str) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match=why):
        db.execute("update analytics.settings set timezone = %s", (zone,))


# Replay and versions


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
        async with make_pool(settings.database_url, max_size=2) as pool:
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

    async def run_worker() -> None:
        async with make_pool(settings.database_url, max_size=3) as pool:
            stop = asyncio.Event()
            task = asyncio.create_task(ProjectionWorker(pool, BOOKINGS, settings).run(stop))
            while db.execute(
                "select version from pulse.projection_checkpoints where projection = 'bookings'"
            ).fetchone() != (1,):
                await asyncio.sleep(0.05)
            stop.set()
            await task

    asyncio.run(run_worker())
    check_views(db, Model(sent))


def test_replay_is_refused_once_retention_dropped_events(settings: Settings, db: psycopg.Connection[Any]) -> None:
    db.execute(
        "insert into pulse.retention_runs (keep, dropped_before, chunks_dropped) "
        "values ('400 days', now() - interval '400 days', 3)"
    )

    async def attempt() -> None:
        async with make_pool(settings.database_url, max_size=2) as pool:
            await replay(pool, BOOKINGS, settings)

    with pytest.raises(ReplayRefused, match="dropped by retention"):
        asyncio.run(attempt())
    refused = pulse(settings.database_url, "replay", "bookings")
    assert refused.returncode == 1 and "would lose them" in refused.stderr
    assert pulse(settings.database_url, "replay", "nonsense").returncode == 2

    # A worker of a newer version does not rebuild either: it says why and waits.
    asyncio.run(drain(settings, batch_size=10))
    db.execute("update pulse.projection_checkpoints set version = 0 where projection = 'bookings'")

    async def run_worker() -> None:
        async with make_pool(settings.database_url, max_size=3) as pool:
            stop = asyncio.Event()
            task = asyncio.create_task(ProjectionWorker(pool, BOOKINGS, settings).run(stop))
            error = "select last_error from pulse.projection_checkpoints where projection = 'bookings'"
            while not (db.execute(error).fetchone() or [None])[0]:
                await asyncio.sleep(0.05)
            stop.set()
            await task

    asyncio.run(run_worker())
    checkpoint = db.execute(
        "select version, last_error from pulse.projection_checkpoints where projection = 'bookings'"
    )
    assert checkpoint.fetchone() == (0, AnyStringWith("dropped by retention"))


# Poison events


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

    with TestClient(create_app(replace(settings, batch_size=100))) as client:
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


# Retention


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


@pytest.mark.parametrize("projection", [BOOKINGS, CONVERSION])
def test_replay_swaps_only_its_projection(projection: Any, settings: Settings, db: psycopg.Connection[Any]) -> None:
    use_business_settings(db)
    sent = history(datetime(2026, 3, 28, 23, tzinfo=UTC))
    asyncio.run(append(settings.database_url, sent))
    asyncio.run(drain(settings, batch_size=3))
    done = pulse(settings.database_url, "replay", projection.name)
    assert done.returncode == 0, done.stderr
    generations = dict(db.execute("select projection, generation from pulse.projection_checkpoints").fetchall())
    assert generations == {p: int(p == projection.name) for p in ("bookings", "conversion", "customers")}
    check_views(db, Model(sent))


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
        async with make_pool(settings.database_url, max_size=3) as pool:
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
        async with make_pool(settings.database_url, max_size=3) as pool:
            return (await replay(pool, BOOKINGS, settings)).resumed

    assert asyncio.run(replay_again()) is True
    asyncio.run(drain(settings, batch_size=100))
    check_views(db, Model(good + more))
    assert verify(settings.database_url) == []


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


def test_a_swap_refuses_to_drop_someone_elses_view(settings: Settings, db: psycopg.Connection[Any]) -> None:
    db.execute("create schema reports")
    db.execute("create view reports.lisbon as select * from analytics.bookings_daily where destination = 'Lisbon'")
    refused = pulse(settings.database_url, "replay", "bookings")
    assert refused.returncode == 1 and "would drop views Booking Pulse does not own: reports.lisbon" in refused.stderr
    assert db.execute("select count(*) from reports.lisbon").fetchone() == (0,)
    # Another projection's swap does not touch it.
    assert pulse(settings.database_url, "replay", "conversion").returncode == 0
