"""Reading the views back, and the settings and scenarios several test modules share."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from projections import ALL_PROJECTIONS
from tests.support.events import booking, make_event
from tests.support.model import Model, percentile_bounds

ZONE = "Europe/London"
# EUR converts at 1.10 until 02:00 UTC on the day of the DST change, then at 1.25; JPY has no rate.
EUR_RATES = [
    (datetime(2026, 3, 1, tzinfo=UTC), Decimal("1.10")),
    (datetime(2026, 3, 29, 2, tzinfo=UTC), Decimal("1.25")),
]


def usd_rate(currency: str, at: datetime) -> Decimal | None:
    if currency == "USD":
        return Decimal(1)
    if currency == "EUR":
        return max((rate for since, rate in EUR_RATES if since <= at), default=None)
    return None


def reset(db: psycopg.Connection[Any]) -> None:
    """Empties the log and every projection, keeping settings and rates."""
    tables = db.execute(
        "select string_agg(format('%%I.%%I', schemaname, tablename), ', ') from pg_tables where schemaname = any(%s)",
        ([projection.schema for projection in ALL_PROJECTIONS],),
    ).fetchone()
    assert tables is not None
    db.execute(f"truncate pulse.events, pulse.event_ids, pulse.booking_ids, pulse.quarantine, {tables[0]}")
    db.execute("delete from pulse.projection_checkpoints")


def use_business_settings(db: psycopg.Connection[Any], zone: str = ZONE) -> None:
    db.execute(
        "update analytics.settings set timezone = %s, reporting_currency = 'USD' "
        "where (timezone, reporting_currency) <> (%s, 'USD')",
        (zone, zone),
    )
    for since, rate in EUR_RATES:
        db.execute(
            "insert into analytics.fx_rates (currency, to_currency, valid_from, rate) values ('EUR', 'USD', %s, %s) "
            "on conflict do nothing",
            (since, rate),
        )


def rows(db: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.execute(sql).fetchall()]


MEASURES = (
    "bookings, gross_revenue, modifications, modification_revenue, cancellations, refunds, net_revenue, "
    "unique_customers"
)


def check_views(db: psycopg.Connection[Any], model: Model, zone: str = ZONE) -> None:
    assert (
        rows(
            db,
            f"select bucket, destination, booking_type, channel, currency, {MEASURES} "
            "from analytics.bookings_hourly order by 1, 2, 3, 4, 5",
        )
        == model.bookings_hourly()
    )
    assert rows(
        db,
        f"select day, destination, booking_type, channel, currency, {MEASURES} "
        "from analytics.bookings_daily order by 1, 2, 3, 4, 5",
    ) == model.bookings_daily(zone)
    assert rows(
        db,
        "select day, destination, currency, bookings, gross_revenue, modifications, modification_revenue, "
        "cancellations, refunds, net_revenue from analytics.destinations_daily order by 1, 2, 3",
    ) == [row[:-1] for row in model.bookings_daily(zone, by=(0, 3))]
    for view, values_zone, when in (("bookings_hourly", None, "bucket"), ("bookings_daily", zone, "day")):
        values = model.booking_values(values_zone)
        for *key, p50, p95 in rows(
            db,
            f"select {when}, destination, booking_type, channel, currency, "
            f"booking_value_p50, booking_value_p95 from analytics.{view} where bookings > 0",
        ):
            for estimate, q in ((p50, 0.5), (p95, 0.95)):
                low, high = percentile_bounds(values[tuple(key)], q)
                assert low - Decimal("0.01") <= estimate <= high + Decimal("0.01"), (view, key, q, estimate)
    states = rows(
        db,
        "select booking_id, customer_id, destination, booking_type, channel, status, created_at, "
        "created_total, created_currency, current_total, currency, modifications, cancelled_at, "
        "amount_refunded, amount_paid, other_payments, last_event_at from analytics.bookings order by 1",
    )
    states = [(*s[:15], s[15] and {c: Decimal(str(v)) for c, v in s[15].items()}, s[16]) for s in states]
    assert states == model.booking_states()
    assert rows(db, "select booking_id, events from analytics.held_booking_events order by 1") == model.held_events()
    assert (
        rows(
            db,
            "select bucket, destination, searches, checkouts, bookings from analytics.conversion_hourly order by 1, 2",
        )
        == model.conversion_hourly()
    )
    assert rows(db, "select * from analytics.legacy_daily_report order by 1") == model.legacy_daily_report(zone)
    assert rows(db, "select * from analytics.legacy_customer_analytics order by 1") == model.legacy_customer_analytics()
    net_values = dict(
        rows(db, "select customer_id, lifetime_net_value from analytics.customer_lifetime where lifetime_bookings > 0")
    )
    assert net_values == model.lifetime_net_values(usd_rate)


Row = tuple[datetime, str, str, str, int, Decimal]

RECOMPUTE = """
select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00'), data->>'destination',
       data->>'booking_type', data->>'currency', count(*), sum((data->>'total_amount')::numeric)
from pulse.events where type = 'booking.created'
group by 1, 2, 3, 4 order by 1, 2, 3, 4
"""
ROLLUP = """
select bucket, destination, booking_type, currency, sum(bookings)::bigint, sum(gross_revenue)
from analytics.bookings_hourly where bookings > 0 group by 1, 2, 3, 4 order by 1, 2, 3, 4
"""


def rollup(db: psycopg.Connection[Any]) -> list[Row]:
    return [tuple(row) for row in db.execute(ROLLUP).fetchall()]


def recompute(db: psycopg.Connection[Any]) -> list[Row]:
    return [tuple(row) for row in db.execute(RECOMPUTE).fetchall()]


class AnyStringWith(str):
    """Equal to any string containing it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and str(self) in other

    __hash__ = str.__hash__


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
