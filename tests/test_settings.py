"""The business time zone and reporting currency: stored, applied, refused with a reason."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from core.migrate import migrate
from core.settings import Settings
from projections.verify import verify
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
    done = pulse(database_url, "migrate", **env)
    assert done.returncode == 2
    assert why in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("zone", "why"), [("Asia/Kolkata", "not whole hours"), ("Mars/Olympus_Mons", "unknown time zone")]
)
def test_time_zones_the_rollups_cannot_serve_are_refused(db: psycopg.Connection[Any], zone: str, why: str) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match=why):
        db.execute("update analytics.settings set timezone = %s", (zone,))
