"""The business time zone and reporting currency: stored, applied, refused with a reason."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from core.migrate import migrate
from core.settings import Settings
from projections.verify import verify
from tests.support.events import booking
from tests.support.model import Model
from tests.support.pipeline import append, drain
from tests.support.processes import pulse
from tests.support.views import history


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
    for zone in ("Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"):
        db.execute("update analytics.settings set timezone = %s", (zone,))
        assert [tuple(row) for row in db.execute(daily).fetchall()] == Model(sent).bookings_daily(zone)
        assert verify(settings.database_url) == []


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"PULSE_TIMEZONE": "Mars/Olympus_Mons"}, "PULSE_TIMEZONE='Mars/Olympus_Mons' is not an IANA time zone"),
        ({"PULSE_REPORTING_CURRENCY": "usd"}, "PULSE_REPORTING_CURRENCY='usd' is not an ISO 4217 currency code"),
    ],
)
def test_settings_the_service_cannot_use_are_refused_with_a_reason(
    database_url: str, env: dict[str, str], why: str
) -> None:
    done = pulse(database_url, "migrate", **env)
    assert done.returncode == 2
    assert why in done.stderr and "Traceback" not in done.stderr


def test_zones_whose_offsets_are_not_whole_hours_are_served(database_url: str, db: psycopg.Connection[Any]) -> None:
    """Asia/Kolkata was refused while days were made of whole UTC hours; now any IANA zone is a business zone."""
    done = pulse(database_url, "migrate", PULSE_TIMEZONE="Asia/Kolkata")
    assert done.returncode == 0, done.stderr
    assert db.execute("select timezone from analytics.settings").fetchone() == ("Asia/Kolkata",)


@pytest.mark.parametrize(
    ("zone", "bucket", "shares"),
    [
        # 18:00 UTC is 23:30 to 00:30 in India: half in each day.
        ("Asia/Kolkata", "2026-03-28 18:00+00", [("2026-03-28", "0.5"), ("2026-03-29", "0.5")]),
        # 23:45 to 00:45 in Nepal.
        ("Asia/Kathmandu", "2026-03-28 18:00+00", [("2026-03-28", "0.25"), ("2026-03-29", "0.75")]),
        # Lord Howe Island: midnight at 13:00 UTC in summer time (+11:00), 13:30 UTC after its half-hour change.
        ("Australia/Lord_Howe", "2026-04-03 13:00+00", [("2026-04-04", "1")]),
        ("Australia/Lord_Howe", "2026-04-05 13:00+00", [("2026-04-05", "0.5"), ("2026-04-06", "0.5")]),
        ("Europe/London", "2026-03-29 00:00+00", [("2026-03-29", "1")]),
    ],
)
def test_the_calendar_splits_an_hour_that_holds_local_midnight(
    db: psycopg.Connection[Any], zone: str, bucket: str, shares: list[tuple[str, str]]
) -> None:
    db.execute("update analytics.settings set timezone = %s", (zone,))
    found = db.execute(
        "select day::text, share from pulse.calendar where bucket = %s::timestamptz order by day", (bucket,)
    ).fetchall()
    assert [(day, share) for day, share in found] == [(day, Decimal(share)) for day, share in shares]
    # Every hour of the calendar is shared out whole.
    assert db.execute("select count(*) from pulse.calendar group by bucket having sum(share) <> 1").fetchall() == []


def test_a_booking_in_an_hour_that_holds_local_midnight(settings: Settings, db: psycopg.Connection[Any]) -> None:
    """Daily rollups take the booking's local date; sums of hours by day take the hour's share of each day."""
    db.execute("update analytics.settings set timezone = 'Asia/Kolkata'")
    # 18:40 UTC is 00:10 in India, on the 29th.
    sent = [booking("Lisbon", amount="100.00", currency="USD", occurred_at=datetime(2026, 3, 28, 18, 40, tzinfo=UTC))]
    asyncio.run(append(settings.database_url, sent))
    asyncio.run(drain(settings, batch_size=10))
    daily = "select day::text, bookings, gross_revenue from analytics.bookings_daily"
    assert db.execute(daily).fetchall() == [("2026-03-29", 1, Decimal("100.00"))]
    assert db.execute(daily.replace("bookings_daily", "destinations_daily")).fetchall() == [
        ("2026-03-29", 1, Decimal("100.00"))
    ]
    pieces = db.execute(
        "select day::text, bookings, gross_revenue from pulse.bookings_hourly_reported order by day"
    ).fetchall()
    assert pieces == [
        ("2026-03-28", Decimal("0.5"), Decimal("50.00")),
        ("2026-03-29", Decimal("0.5"), Decimal("50.00")),
    ]
    assert verify(settings.database_url) == []


@pytest.mark.parametrize(("zone", "why"), [("Mars/Olympus_Mons", "unknown time zone")])
def test_time_zones_the_rollups_cannot_serve_are_refused(db: psycopg.Connection[Any], zone: str, why: str) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match=why):
        db.execute("update analytics.settings set timezone = %s", (zone,))
