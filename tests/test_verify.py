"""pulse verify: every rollup against a recompute from the raw events."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.settings import Settings
from projections.verify import verify
from tests.support.events import booking, make_event
from tests.support.model import Model
from tests.support.pipeline import append, drain
from tests.support.processes import pulse
from tests.support.views import check_views, history, use_business_settings


def test_verify_passes_on_projected_events_and_reports_a_drifted_rollup(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    asyncio.run(append(settings.database_url, history(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))))
    asyncio.run(drain(settings, batch_size=2))
    assert verify(settings.database_url) == []
    done = pulse(settings.database_url, "verify")
    assert done.returncode == 0, done.stderr

    db.execute("update pulse_bookings.hourly set refunds = refunds + 1 where cancellations > 0")
    db.execute("update pulse_bookings.daily set refunds = refunds + 1 where cancellations > 0")
    mismatches = verify(settings.database_url)
    # The hourly rollup differs from the events, the daily one from the bookings and their changes, and
    # the one per destination from the daily one.
    assert [(m.projection, m.key, m.projected, m.recomputed) for m in mismatches] == [
        ("bookings", "2026-03-29 02:00:00+00 Lisbon flight unknown EUR", "(0,0,0,0,1,151.00)", "(0,0,0,0,1,150.00)"),
        (
            "bookings",
            "2026-03-29 Lisbon flight unknown EUR",
            "(1,100.00,1,50.00,1,151.00)",
            "(1,100.00,1,50.00,1,150.00)",
        ),
        ("bookings", "2026-03-29 Lisbon EUR", "(1,100.00,1,50.00,1,150.00)", "(1,100.00,1,50.00,1,151.00)"),
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
