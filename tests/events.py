"""Building valid events for tests."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

REQUIRED_DATA = {
    "booking.created": {
        "booking_id": "b-1",
        "customer_id": "c-1",
        "destination": "Lisbon",
        "booking_type": "flight",
        "total_amount": "120.50",
        "currency": "EUR",
    },
    "booking.modified": {"booking_id": "b-1", "total_amount": "130.00", "currency": "EUR"},
    "booking.cancelled": {"booking_id": "b-1"},
    "payment.captured": {"booking_id": "b-1", "amount": "120.50", "currency": "EUR"},
    "customer.registered": {"customer_id": "c-1"},
    "search.performed": {"session_id": "s-1", "destination": "Lisbon"},
    "checkout.started": {"session_id": "s-1", "destination": "Lisbon", "booking_type": "flight"},
}


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
