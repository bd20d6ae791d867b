"""Every analytics view against the independent Python model of tests/support/model.py."""

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.settings import Settings
from projections.verify import verify
from tests.support.events import make_event
from tests.support.model import Model
from tests.support.pipeline import append, drain
from tests.support.views import check_views, reset, use_business_settings

# From Saturday 20:00 UTC to Monday 02:00: two midnights, and the spring DST
# change in London (2026-03-29 01:00 UTC) in between. Business days in London,
# and in zones whose offsets are not whole hours: India (+05:30) and Nepal
# (+05:45), whose local midnights fall inside UTC hours; and Lord Howe Island,
# over its half-hour DST change (2026-04-04 15:00 UTC, +11:00 to +10:30): its
# midnights are at 13:00 UTC before it and 13:30 UTC after.
START = datetime(2026, 3, 28, 20, tzinfo=UTC)
ZONES = {
    "Europe/London": START,
    "Asia/Kolkata": START,
    "Asia/Kathmandu": START,
    "Australia/Lord_Howe": datetime(2026, 4, 4, 10, tzinfo=UTC),
}
SPAN_MINUTES = 30 * 60
OFFSETS = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
DESTINATIONS = ["Lisbon", "Tokyo", "Cancun"]
CUSTOMERS = ["c-1", "c-2", "c-3", "c-4"]
amounts = st.decimals(min_value=0, max_value=10000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def moments(draw: st.DrawFn, start: datetime = START) -> datetime:
    moment = start + timedelta(minutes=draw(st.integers(0, SPAN_MINUTES)))
    return moment.astimezone(draw(st.sampled_from(OFFSETS)))


@st.composite
def booking_histories(draw: st.DrawFn, start: datetime) -> list[dict[str, Any]]:
    """One booking's events: its creation, modifications, cancellations and payments, maybe a second creation."""
    booking_id = f"b-{draw(st.integers(0, 10**6))}"
    currency = draw(st.sampled_from(["EUR", "USD", "JPY"]))
    created = make_event(
        "booking.created",
        draw(moments(start)),
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
                draw(moments(start)),
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
        events.append(make_event("booking.cancelled", draw(moments(start)), **data))
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            make_event(
                "payment.captured",
                draw(moments(start)),
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
def funnel_events(draw: st.DrawFn, start: datetime) -> dict[str, Any]:
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
    return make_event(kind, draw(moments(start)), **data)


@st.composite
def histories(draw: st.DrawFn, start: datetime = START) -> tuple[list[list[dict[str, Any]]], int]:
    """Requests as sent over time: every event late or early, resends, other types mixed in."""
    events = [e for booking in draw(st.lists(booking_histories(start), min_size=1, max_size=6)) for e in booking]
    events += draw(st.lists(funnel_events(start), max_size=8))
    shuffled = random.Random(draw(st.integers(0, 2**32))).sample(events, len(events))
    for _ in range(draw(st.integers(0, 3))):
        # A resend, maybe with another time: stored once, as first sent.
        original = draw(st.sampled_from(shuffled))
        resent = {**original, "occurred_at": draw(moments(start)).isoformat()}
        shuffled.insert(draw(st.integers(0, len(shuffled))), resent)
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    chunks = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    return [chunk for chunk in chunks if chunk], draw(st.integers(1, 25))


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(zoned=st.sampled_from(sorted(ZONES)).flatmap(lambda zone: st.tuples(st.just(zone), histories(ZONES[zone]))))
def test_views_equal_the_model_for_any_history(
    zoned: tuple[str, tuple[list[list[dict[str, Any]]], int]], settings: Settings, db: psycopg.Connection[Any]
) -> None:
    zone, (chunks, batch_size) = zoned
    use_business_settings(db, zone)
    reset(db)
    sent: list[dict[str, Any]] = []
    for chunk in chunks:
        asyncio.run(append(settings.database_url, chunk))
        sent.extend(chunk)
        # New workers per chunk: each resumes from its checkpoint, as after a restart.
        asyncio.run(drain(settings, batch_size))
        check_views(db, Model(sent), zone)
        assert verify(settings.database_url) == []


def test_payments_follow_the_booking_into_each_currency_it_moves_to(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    """Payments are summed per currency, a payment of 0 included, whatever the batch or the order of arrival."""
    use_business_settings(db)
    reset(db)
    at = START + timedelta(hours=1)

    def event(kind: str, minutes: int, booking_id: str, **data: Any) -> dict[str, Any]:
        return make_event(kind, at + timedelta(minutes=minutes), booking_id=booking_id, **data)

    chunks = [
        [
            event("booking.created", 0, "b-moves", total_amount="100.00", currency="EUR"),
            event("payment.captured", 1, "b-moves", amount="0.00", currency="EUR"),
            event("payment.captured", 2, "b-moves", amount="30.00", currency="USD"),
            # Paid before it was booked.
            event("payment.captured", 1, "b-early", amount="20.00", currency="JPY"),
        ],
        [
            event("booking.modified", 3, "b-moves", total_amount="120.00", currency="USD"),
            event("booking.created", 0, "b-early", total_amount="80.00", currency="JPY"),
            event("booking.modified", 4, "b-early", total_amount="90.00", currency="EUR"),
        ],
        [
            # Back to EUR, with a payment in the same batch and a late one in USD.
            event("booking.modified", 5, "b-moves", total_amount="110.00", currency="EUR"),
            event("payment.captured", 6, "b-moves", amount="5.00", currency="EUR"),
            event("payment.captured", 2, "b-moves", amount="1.50", currency="USD"),
            event("payment.captured", 7, "b-early", amount="9.00", currency="EUR"),
        ],
    ]
    sent: list[dict[str, Any]] = []
    expected: list[dict[str, tuple[str, Decimal | int, dict[str, Decimal] | None] | None]] = [
        {"b-moves": ("EUR", Decimal("0.00"), {"USD": Decimal("30.00")}), "b-early": None},
        {
            "b-moves": ("USD", Decimal("30.00"), {"EUR": Decimal("0.00")}),
            "b-early": ("EUR", 0, {"JPY": Decimal("20.00")}),
        },
        {
            "b-moves": ("EUR", Decimal("5.00"), {"USD": Decimal("31.50")}),
            "b-early": ("EUR", Decimal("9.00"), {"JPY": Decimal("20.00")}),
        },
    ]
    for chunk, wanted in zip(chunks, expected, strict=True):
        asyncio.run(append(settings.database_url, chunk))
        sent.extend(chunk)
        asyncio.run(drain(settings, 100))
        paid = {
            booking_id: (currency, amount, others and {k: Decimal(str(v)) for k, v in others.items()})
            for booking_id, currency, amount, others in db.execute(
                "select booking_id, currency, amount_paid, other_payments from analytics.bookings"
            )
        }
        assert paid == {k: v for k, v in wanted.items() if v is not None}
        check_views(db, Model(sent))
