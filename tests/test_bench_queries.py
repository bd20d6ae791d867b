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
from tests.support.events import booking, make_event, mixed_history
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


def _journeys_with_every_case(seed: int) -> list[dict[str, Any]]:
    """mixed_history's journeys, plus what it lacks: currency changes, refunds, payments in other
    currencies and before their booking, a booking that never arrives, a second creation of a booking,
    registrations, failed payments and customers on searches and checkouts."""
    rng = random.Random(seed)
    at = datetime(2026, 3, 28, 10, 7, tzinfo=UTC)
    moved = booking(currency="USD", amount="200.00", occurred_at=at)
    moved["data"]["customer_id"] = "c-1"
    moved_id = moved["data"]["booking_id"]
    late = booking(destination="Tokyo", amount="80.00", occurred_at=at + timedelta(minutes=20))
    late_id = late["data"]["booking_id"]
    events = [
        make_event("customer.registered", at - timedelta(days=2), customer_id="c-1"),
        make_event("search.performed", at - timedelta(minutes=30), customer_id="c-1", destination="Lisbon"),
        make_event("checkout.started", at - timedelta(minutes=5), customer_id="c-1", destination="Lisbon"),
        moved,
        make_event("payment.captured", at + timedelta(minutes=1), booking_id=moved_id, amount="0.00", currency="USD"),
        make_event("payment.captured", at + timedelta(minutes=2), booking_id=moved_id, amount="30.00", currency="GBP"),
        make_event("payment.failed", at + timedelta(minutes=3), booking_id=moved_id, amount="5.00", currency="USD"),
        make_event(
            "booking.modified", at + timedelta(hours=5), booking_id=moved_id, total_amount="150.00", currency="EUR"
        ),
        make_event("booking.cancelled", at + timedelta(hours=9), booking_id=moved_id, refund_amount="40.00"),
        # Modified before the modification above, sent after it.
        make_event(
            "booking.modified", at + timedelta(hours=2), booking_id=moved_id, total_amount="180.00", currency="GBP"
        ),
        make_event("booking.cancelled", at + timedelta(hours=10), booking_id=moved_id),
        # Everything about this booking comes before its creation.
        make_event(
            "booking.modified", at + timedelta(hours=1), booking_id=late_id, total_amount="90.00", currency="EUR"
        ),
        make_event("payment.captured", at + timedelta(minutes=25), booking_id=late_id, amount="80.00", currency="EUR"),
        make_event("payment.failed", at + timedelta(minutes=24), booking_id=late_id, amount="80.00", currency="EUR"),
        late,
        # A second creation of the same booking, which the write contract refuses.
        {**booking(destination="Cancun", occurred_at=at), "data": {**late["data"], "destination": "Cancun"}},
        # A booking that never arrives.
        make_event("booking.modified", at + timedelta(hours=3), booking_id="b-never", total_amount="1.00"),
        make_event("payment.captured", at + timedelta(hours=4), booking_id="b-never", amount="1.00"),
        make_event("booking.cancelled", at + timedelta(hours=5), booking_id="b-never"),
    ]
    history = mixed_history(60, seed=seed)
    for event in rng.sample(history, 20):
        if event["type"] in ("search.performed", "checkout.started"):
            event["data"]["customer_id"] = f"c-{rng.randrange(5)}"
    return history[:90] + events + history[90:]


# Each baseline's tables and the projection tables they recompute, as comparable rows. A rollup row
# whose figures all came back to zero (a late event moved them elsewhere) is as good as no row.
_SKETCHES = (
    "hll_cardinality(customers)",
    "(select round(tdigest_percentile(d, 0.5)::numeric, 2) from (values (booking_values)) as one (d))",
)
_ROLLUP = "bookings, gross_revenue, modifications, modification_delta, cancellations, refunds"
_NOT_ALL_ZERO = f"({_ROLLUP}) <> (0, 0, 0, 0, 0, 0)"
_BASELINES: dict[str, list[tuple[str, str]]] = {
    "recompute_bookings_full": [
        (
            "select booking_id, customer_id, destination, booking_type, channel, created_at, created_total,"
            " created_currency::text, current_total, current_currency::text, modifications, cancelled_at, refunded,"
            " refund_currency::text, amount_paid, other_payments, last_event_at from pulse_bookings.bookings",
            "select booking_id, customer_id, destination, booking_type, channel, created_at, created_total,"
            " created_currency, current_total, current_currency, modifications, cancelled_at, refunded,"
            " refund_currency, amount_paid, other_payments, last_event_at from recomputed_bookings_bookings",
        ),
        (
            "select booking_id, quarter, currency::text, modifications, modification_delta, cancellations, refunds"
            " from pulse_bookings.booking_contributions",
            "select * from recomputed_bookings_contributions",
        ),
        (
            f"select bucket, destination, booking_type, channel, currency::text, {_ROLLUP}, {', '.join(_SKETCHES)}"
            f" from pulse_bookings.hourly where {_NOT_ALL_ZERO}",
            f"select bucket, destination, booking_type, channel, currency, {_ROLLUP}, {', '.join(_SKETCHES)}"
            " from recomputed_bookings_hourly",
        ),
        (
            f"select day, destination, booking_type, channel, currency::text, {_ROLLUP}, {', '.join(_SKETCHES)}"
            f" from pulse_bookings.daily where {_NOT_ALL_ZERO}",
            f"select day, destination, booking_type, channel, currency, {_ROLLUP}, {', '.join(_SKETCHES)}"
            " from recomputed_bookings_daily",
        ),
        (
            f"select day, destination, currency::text, {_ROLLUP} from pulse_bookings.destinations_daily"
            f" where {_NOT_ALL_ZERO}",
            f"select day, destination, currency, {_ROLLUP} from recomputed_bookings_destinations_daily",
        ),
        (
            "select e.booking_id, e.occurred_at, e.seq, e.type from pulse_bookings.booking_events e"
            " join pulse_bookings.held using (booking_id)",
            "select booking_id, occurred_at, seq, type from recomputed_bookings_held",
        ),
    ],
    "recompute_conversion": [
        (
            "select bucket, destination, searches, checkouts, bookings from pulse_conversion.hourly",
            "select * from recomputed_conversion",
        )
    ],
    "recompute_customers": [
        (
            "select customer_id, registered_at, first_seen_at, last_seen_at, searches, last_search_at, checkouts,"
            " last_checkout_at, bookings, booked_amount, first_booking_at, last_booking_at"
            " from pulse_customers.customers",
            "select customer_id, registered_at, first_seen_at, last_seen_at, searches, last_search_at, checkouts,"
            " last_checkout_at, bookings, coalesce(booked_amount, 0), first_booking_at, last_booking_at"
            " from recomputed_customers",
        )
    ],
    "recompute_signals": [
        (
            "select booking_id, destination, booking_type, currency::text, total, xact_id, seq"
            " from pulse_signals.bookings",
            "select booking_id, destination, booking_type, currency, total, xact_id, seq"
            " from recomputed_signals_bookings",
        ),
        (
            "select bucket, destination, booking_type, currency, bookings, gross_revenue, min_value, max_value,"
            " cancellations, payments, paid_amount, paid_of_total, payment_failures from pulse_signals.minutely",
            "select * from recomputed_signals_minutely",
        ),
        (
            "select bucket, destination, searches from pulse_signals.searches",
            "select * from recomputed_signals_searches",
        ),
        (
            "select day, destination, booking_type, currency::text, bookings,"
            " (select round(tdigest_percentile(d, 0.5)::numeric, 2) from (values (values)) as one (d))"
            " from pulse_signals.booking_values",
            "select day, destination, booking_type, currency, bookings,"
            " (select round(tdigest_percentile(d, 0.5)::numeric, 2) from (values (values)) as one (d))"
            " from recomputed_signals_values",
        ),
        (
            "select booking_id, seq, type, received_at from pulse_signals.held",
            "select * from recomputed_signals_held",
        ),
    ],
}


def test_each_baseline_recomputes_the_tables_its_projection_keeps(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    # make bench divides each recompute's time by its projection's catch-up: a ratio only means something
    # if the recompute computes what the projection keeps. Small batches: the late events land in later ones.
    for seed in (3, 4):
        asyncio.run(append(settings.database_url, _journeys_with_every_case(seed)))
        asyncio.run(drain(settings, 23))
    queries = parse_named(QUERIES.read_text())
    assert set(_BASELINES) == {name for name in queries if name.startswith("recompute_")} - {"recompute_bookings"}
    for name, pairs in _BASELINES.items():
        with db.transaction(force_rollback=True):
            db.execute(queries[name])
            for projected, recomputed in pairs:
                rows = db.execute(projected).fetchall()
                assert rows, projected
                assert sorted(map(repr, rows)) == sorted(map(repr, db.execute(recomputed).fetchall())), projected
