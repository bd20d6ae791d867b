"""Building valid events for tests."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.events import EVENT_MODELS, data_model, type_name

# A valid data object per event type: the example each registered type carries.
REQUIRED_DATA: dict[str, dict[str, Any]] = {type_name(model): data_model(model).example for model in EVENT_MODELS}


def make_event(kind: str = "booking.created", occurred_at: datetime | None = None, **data: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "data": {**REQUIRED_DATA[kind], **data},
    }


def booking(
    destination: str = "Lisbon",
    booking_type: str = "flight",
    amount: Decimal | str = "100.00",
    currency: str = "EUR",
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    return make_event(
        "booking.created",
        occurred_at,
        booking_id=f"b-{uuid.uuid4().hex[:8]}",
        destination=destination,
        booking_type=booking_type,
        total_amount=str(amount),
        currency=currency,
    )


def mixed_history(bookings: int, seed: int = 7) -> list[dict[str, Any]]:
    """Booking journeys with modifications, cancellations and payments, sent late and out of order."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 27, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    for n in range(bookings):
        at = start + timedelta(minutes=rng.randrange(4 * 24 * 60))
        currency = rng.choice(["EUR", "USD", "GBP"])
        created = make_event(
            "booking.created",
            at,
            booking_id=f"b-{seed}-{n}",
            customer_id=f"c-{rng.randrange(bookings // 3 + 1)}",
            destination=rng.choice(["Lisbon", "Tokyo", "Cancun", "Paris"]),
            booking_type=rng.choice(["flight", "hotel", "package"]),
            channel=rng.choice(["web", "app", None]),
            total_amount=f"{rng.randrange(50, 3000)}.{rng.randrange(100):02d}",
            currency=currency,
        )
        journey = [
            make_event("search.performed", at - timedelta(minutes=9), destination=created["data"]["destination"]),
            created,
        ]
        for _ in range(rng.choice([0, 0, 1, 2])):
            journey.append(
                make_event(
                    "booking.modified",
                    at + timedelta(hours=rng.randrange(1, 48)),
                    booking_id=created["data"]["booking_id"],
                    total_amount=f"{rng.randrange(50, 3000)}.00",
                    currency=currency,
                )
            )
        if rng.random() < 0.3:
            journey.append(
                make_event(
                    "booking.cancelled",
                    at + timedelta(hours=rng.randrange(1, 72)),
                    booking_id=created["data"]["booking_id"],
                )
            )
        journey.append(
            make_event(
                "payment.captured",
                at + timedelta(minutes=5),
                booking_id=created["data"]["booking_id"],
                amount="50.00",
                currency=currency,
            )
        )
        events += journey
    # Mostly in order, but any event may arrive up to 200 places late.
    keyed = [(i + rng.expovariate(1 / 20) * (rng.random() < 0.3) * 10, e) for i, e in enumerate(events)]
    return [e for _, e in sorted(keyed, key=lambda pair: pair[0])]


def daily_bookings(
    per_day: dict[tuple[str, str], float],
    days: int,
    last_day: date,
    seed: int = 3,
    customers: int = 40,
    currency: str = "USD",
) -> list[dict[str, Any]]:
    """booking.created events on each of `days` days up to last_day (UTC, 08:00-20:00): per (destination,
    booking type) a Poisson number a day around its mean, fewer at weekends.

    Customers book as the BG/NBD model has them do: each at a rate of their own (gamma-distributed
    weights), until they drop out on a day of their own (some never do within the history).
    """
    rng = random.Random(seed)
    weekly = (1.2, 1.1, 1.0, 1.0, 0.95, 0.7, 0.8)
    weights = [rng.gammavariate(0.7, 1.0) for _ in range(customers)]
    leaves = [rng.randrange(days // 4, 2 * days) for _ in range(customers)]
    events: list[dict[str, Any]] = []
    for offset in range(days):
        day = last_day - timedelta(days=days - 1 - offset)
        start = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
        active = [n for n in range(customers) if leaves[n] > offset] or [0]
        for (destination, booking_type), mean in per_day.items():
            # Poisson by counting exponential gaps within one day.
            count, clock = 0, rng.expovariate(mean * weekly[day.weekday()])
            while clock < 1.0:
                count, clock = count + 1, clock + rng.expovariate(mean * weekly[day.weekday()])
            for customer in rng.choices(active, [weights[n] for n in active], k=count):
                event = make_event(
                    "booking.created",
                    start + timedelta(minutes=rng.randrange(12 * 60)),
                    booking_id=f"b-{uuid.uuid4().hex[:12]}",
                    customer_id=f"c-{customer}",
                    destination=destination,
                    booking_type=booking_type,
                    total_amount=f"{rng.randrange(80, 900)}.{rng.randrange(100):02d}",
                    currency=currency,
                )
                events.append(event)
    return events
