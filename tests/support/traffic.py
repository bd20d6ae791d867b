"""Steady, seeded booking traffic minute by minute, with incidents: history for the alert detector's tests."""

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.support.events import make_event

# Per destination: bookings per minute at the rate all tests use.
RATES = {"Lisbon": 4.0, "Paris": 3.0, "Tokyo": 2.0, "Oslo": 2.0, "Reykjavik": 0.05}
TYPES = ("flight", "hotel")
Tweak = Callable[[str, datetime, "Minute"], None]


@dataclass
class Minute:
    """What one destination does in one minute; an incident changes it."""

    bookings: float
    price_factor: float = 1.0
    cancellations: float = 0.0
    failure_share: float = 0.03
    paid_share: float = 1.0
    # Searches in the minute; None: three per booking (an outage stops searches too).
    searches: float | None = None


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass
class Traffic:
    # Minutes are drawn from the seed and their offset from origin (the test's now): the same traffic
    # whenever the tests run. Seeded by the clock, each hour drew other traffic, and at some hours
    # (05:40 UTC on 2026-11-27) the Oslo incident of tests/test_alert_rules.py fell short of its rule's z of 5.
    origin: datetime
    seed: int = 1
    rates: dict[str, float] = field(default_factory=lambda: dict(RATES))
    events: list[dict[str, Any]] = field(default_factory=list)
    booked: dict[str, list[str]] = field(default_factory=dict)

    def between(self, start: datetime, end: datetime, tweak: Tweak | None = None) -> "Traffic":
        rng = random.Random(f"{self.seed}-{(start - self.origin).total_seconds()}")
        at = start
        while at < end:
            for destination, rate in self.rates.items():
                minute = Minute(bookings=rate, cancellations=rate * 0.05)
                if tweak:
                    tweak(destination, at, minute)
                self._minute(rng, destination, at, minute)
            at += timedelta(minutes=1)
        return self

    def _minute(self, rng: random.Random, destination: str, at: datetime, minute: Minute) -> None:
        booked = self.booked.setdefault(destination, [])
        searches = minute.bookings * 3 if minute.searches is None else minute.searches
        for _ in range(poisson(rng, searches)):
            self.events.append(make_event("search.performed", at + timedelta(seconds=5), destination=destination))
        for n in range(poisson(rng, minute.bookings)):
            booking_id = f"b-{uuid.uuid4().hex[:12]}"
            total = round(rng.uniform(100, 300) * minute.price_factor, 2)
            moment = at + timedelta(seconds=10 + n)
            self.events.append(
                make_event(
                    "booking.created",
                    moment,
                    booking_id=booking_id,
                    customer_id="c-1",
                    destination=destination,
                    booking_type=TYPES[n % 2],
                    total_amount=f"{total:.2f}",
                    currency="USD",
                )
            )
            paid = f"{total * minute.paid_share:.2f}"
            if rng.random() < minute.failure_share:
                self.events.append(
                    make_event(
                        "payment.failed",
                        moment + timedelta(seconds=20),
                        booking_id=booking_id,
                        amount=paid,
                        currency="USD",
                    )
                )
            else:
                self.events.append(
                    make_event(
                        "payment.captured",
                        moment + timedelta(seconds=20),
                        booking_id=booking_id,
                        amount=paid,
                        currency="USD",
                    )
                )
            booked.append(booking_id)
        for _ in range(min(poisson(rng, minute.cancellations), len(booked))):
            self.events.append(
                make_event(
                    "booking.cancelled", at + timedelta(seconds=40), booking_id=booked.pop(rng.randrange(len(booked)))
                )
            )


def weekly_history(
    now: datetime, weeks: int = 4, hours_before: int = 2, seed: int = 1, rates: dict[str, float] | None = None
) -> Traffic:
    """The same hours of the past weeks around now, and the hours before now: normal traffic."""
    traffic = Traffic(seed=seed, rates=dict(rates or RATES), origin=now)
    for k in range(1, weeks + 1):
        then = now - timedelta(days=7 * k)
        traffic.between(then - timedelta(hours=hours_before), then + timedelta(hours=1))
    return traffic
