"""Building valid events for tests."""

import uuid
from datetime import UTC, datetime
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
