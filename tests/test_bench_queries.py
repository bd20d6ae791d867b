"""The benchmark's analyst question gives the same answer on the views as on the raw events.

make bench times both (month_by_destination_speedup): a speed-up only means something if they agree.
"""

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from bench.run_all import QUERIES
from core.settings import Settings
from core.sql import parse_named
from tests.support.events import booking
from tests.support.pipeline import append, drain
from tests.support.views import use_business_settings


def test_month_by_destination_is_the_same_on_views_and_raw_events(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    # The queries ask for June 2026 in the business zone: events on both edges of it, and some outside.
    use_business_settings(db, "Asia/Kolkata")
    rng = random.Random(5)
    start = datetime(2026, 5, 31, 12, tzinfo=UTC)
    events = [
        booking(
            destination=rng.choice(["Lisbon", "Tokyo", "Cancun"]),
            amount=Decimal(rng.randrange(4000, 300000)) / 100,
            currency=rng.choice(["EUR", "USD", "GBP"]),
            occurred_at=start + timedelta(minutes=rng.randrange(32 * 24 * 60)),
        )
        for _ in range(300)
    ]
    asyncio.run(append(settings.database_url, events))
    asyncio.run(drain(settings, 100))
    queries = parse_named(QUERIES.read_text())
    views = db.execute(queries["month_by_destination_views"]).fetchall()
    raw = db.execute(queries["month_by_destination_raw"]).fetchall()
    assert len(raw) > 30
    assert [(day, destination, currency, gross) for day, destination, currency, gross, _ in views] == raw
    assert {row[0] for row in raw} >= {datetime(2026, 6, 1).date(), datetime(2026, 6, 30).date()}
