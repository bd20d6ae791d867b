"""Every analytics view against the independent Python model of tests/model.py."""

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.settings import Settings
from projections.verify import verify
from tests.events import make_event
from tests.model import Model, percentile_bounds
from tests.pipeline import append, drain

ZONE = "Europe/London"
# From Saturday 20:00 UTC to Monday 02:00: two midnights, and the spring DST
# change in London (2026-03-29 01:00 UTC) in between.
START = datetime(2026, 3, 28, 20, tzinfo=UTC)
SPAN_MINUTES = 30 * 60
OFFSETS = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
DESTINATIONS = ["Lisbon", "Tokyo", "Cancun"]
CUSTOMERS = ["c-1", "c-2", "c-3", "c-4"]
# EUR converts at 1.10 until 02:00 UTC on the day of the DST change, then at 1.25; JPY has no rate.
EUR_RATES = [
    (datetime(2026, 3, 1, tzinfo=UTC), Decimal("1.10")),
    (datetime(2026, 3, 29, 2, tzinfo=UTC), Decimal("1.25")),
]

amounts = st.decimals(min_value=0, max_value=10000, places=2, allow_nan=False, allow_infinity=False)


def usd_rate(currency: str, at: datetime) -> Decimal | None:
    if currency == "USD":
        return Decimal(1)
    if currency == "EUR":
        return max((rate for since, rate in EUR_RATES if since <= at), default=None)
    return None


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    moment = START + timedelta(minutes=draw(st.integers(0, SPAN_MINUTES)))
    return moment.astimezone(draw(st.sampled_from(OFFSETS)))


@st.composite
def booking_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One booking's events: its creation, modifications, cancellations and payments, maybe a second creation."""
    booking_id = f"b-{draw(st.integers(0, 10**6))}"
    currency = draw(st.sampled_from(["EUR", "USD", "JPY"]))
    created = make_event(
        "booking.created",
        draw(moments()),
        booking_id=booking_id,
        customer_id=draw(st.sampled_from(CUSTOMERS)),
        destination=draw(st.sampled_from(DESTINATIONS)),
        booking_type=draw(st.sampled_from(["flight", "hotel"])),
        channel=draw(st.sampled_from([None, "web", "app"])),
        total_amount=str(draw(amounts)),
        currency=currency,
    )
    events = [created]
    for _ in range(draw(st.integers(0, 3))):
        # Mostly the same currency; sometimes the booking moves to another one.
        new_currency = draw(st.sampled_from([currency, currency, "EUR"]))
        events.append(
            make_event(
                "booking.modified",
                draw(moments()),
                booking_id=booking_id,
                total_amount=str(draw(amounts)),
                currency=new_currency,
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        refund = draw(st.one_of(st.none(), amounts))
        data = (
            {"booking_id": booking_id} if refund is None else {"booking_id": booking_id, "refund_amount": str(refund)}
        )
        if draw(st.booleans()):
            # Senders' own fields, named like other types' fields.
            data |= draw(st.sampled_from([{"total_amount": "7.00"}, {"currency": "euros"}]))
        events.append(make_event("booking.cancelled", draw(moments()), **data))
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            make_event(
                "payment.captured",
                draw(moments()),
                booking_id=booking_id,
                amount=str(draw(amounts)),
                currency=draw(st.sampled_from([currency, "USD"])),
                **draw(st.sampled_from([{}, {"total_amount": "not a number"}])),
            )
        )
    if draw(st.integers(0, 5)) == 0:
        # Another event creating the same booking: rejected, never counted.
        events.append({**created, "event_id": make_event()["event_id"]})
    return events


@st.composite
def funnel_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["search.performed", "checkout.started", "customer.registered"]))
    data: dict[str, Any] = {}
    if kind != "customer.registered":
        data["destination"] = draw(st.sampled_from(DESTINATIONS))
    if kind == "customer.registered" or draw(st.booleans()):
        data["customer_id"] = draw(st.sampled_from(CUSTOMERS))
    if draw(st.integers(0, 4)) == 0:
        data["total_amount"] = "not an amount"  # a sender's own field
    if draw(st.integers(0, 4)) == 0:
        data["booking_id"] = draw(st.sampled_from(["b-1", "b-2"]))  # not a booking event: no effect
    return make_event(kind, draw(moments()), **data)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], int]:
    """Requests as sent over time: every event late or early, resends, other types mixed in."""
    events = [e for booking in draw(st.lists(booking_histories(), min_size=1, max_size=6)) for e in booking]
    events += draw(st.lists(funnel_events(), max_size=8))
    shuffled = random.Random(draw(st.integers(0, 2**32))).sample(events, len(events))
    for _ in range(draw(st.integers(0, 3))):
        # A resend, maybe with another time: stored once, as first sent.
        original = draw(st.sampled_from(shuffled))
        resent = {**original, "occurred_at": draw(moments()).isoformat()}
        shuffled.insert(draw(st.integers(0, len(shuffled))), resent)
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    chunks = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    return [chunk for chunk in chunks if chunk], draw(st.integers(1, 25))


def reset(db: psycopg.Connection[Any]) -> None:
    """Empties the log and every projection, keeping settings and rates."""
    tables = db.execute(
        "select string_agg(format('%I.%I', schemaname, tablename), ', ') from pg_tables "
        "where schemaname in ('pulse_bookings', 'pulse_conversion', 'pulse_customers')"
    ).fetchone()
    assert tables is not None
    db.execute(f"truncate pulse.events, pulse.event_ids, pulse.booking_ids, pulse.quarantine, {tables[0]}")
    db.execute("delete from pulse.projection_checkpoints")


def use_business_settings(db: psycopg.Connection[Any]) -> None:
    db.execute(
        "update analytics.settings set timezone = %s, reporting_currency = 'USD' where timezone <> %s", (ZONE, ZONE)
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


def check_views(db: psycopg.Connection[Any], model: Model) -> None:
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
    ) == model.bookings_daily(ZONE)
    for view, zone, when in (("bookings_hourly", None, "bucket"), ("bookings_daily", ZONE, "day")):
        values = model.booking_values(zone)
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
    assert rows(db, "select * from analytics.legacy_daily_report order by 1") == model.legacy_daily_report(ZONE)
    assert rows(db, "select * from analytics.legacy_customer_analytics order by 1") == model.legacy_customer_analytics()
    net_values = dict(
        rows(db, "select customer_id, lifetime_net_value from analytics.customer_lifetime where lifetime_bookings > 0")
    )
    assert net_values == model.lifetime_net_values(usd_rate)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_views_equal_the_model_for_any_history(
    history: tuple[list[list[dict[str, Any]]], int], settings: Settings, db: psycopg.Connection[Any]
) -> None:
    chunks, batch_size = history
    use_business_settings(db)
    reset(db)
    sent: list[dict[str, Any]] = []
    for chunk in chunks:
        asyncio.run(append(settings.database_url, chunk))
        sent.extend(chunk)
        # New workers per chunk: each resumes from its checkpoint, as after a restart.
        asyncio.run(drain(settings, batch_size))
        check_views(db, Model(sent))
        assert verify(settings.database_url) == []
