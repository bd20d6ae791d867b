"""Demo traffic: realistic booking journeys sent through the HTTP API.

Searches lead to checkouts, checkouts to bookings, bookings to payments and
sometimes modifications or cancellations, across destinations and booking
types. The rate follows a daily and weekly rhythm around the requested mean.
A few events arrive late, a few are resent and a few are malformed, as in
real traffic, so duplicates and quarantine show up too.
"""

import asyncio
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import simplejson

DESTINATIONS = {
    "Lisbon": ("EUR", 1.0),
    "Barcelona": ("EUR", 1.2),
    "Paris": ("EUR", 1.3),
    "London": ("GBP", 1.1),
    "Edinburgh": ("GBP", 0.5),
    "New York": ("USD", 1.0),
    "Cancun": ("USD", 0.7),
    "Tokyo": ("JPY", 0.6),
    "Cape Town": ("ZAR", 0.3),
    "Reykjavik": ("ISK", 0.2),
}
BOOKING_TYPES = {
    "flight": (80, 900),
    "hotel": (60, 600),
    "package": (400, 4000),
    "car": (30, 400),
    "cruise": (700, 6000),
}
CHANNELS = ("web", "app", "agent", "partner")
# Relative traffic by hour of day (UTC) and by weekday (Monday first).
# fmt: off
DAILY = (0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.5, 0.8, 1.0, 1.1, 1.2, 1.3,
         1.3, 1.2, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.6, 1.2, 0.8, 0.4)
# fmt: on
WEEKLY = (1.0, 1.0, 1.05, 1.05, 0.95, 0.8, 1.15)
YEN_LIKE = {"JPY": 110, "ISK": 120, "ZAR": 15}


def intensity(moment: datetime) -> float:
    """Traffic at this moment relative to the weekly mean."""
    mean = (sum(DAILY) / len(DAILY)) * (sum(WEEKLY) / len(WEEKLY))
    return DAILY[moment.hour] * WEEKLY[moment.weekday()] / mean


@dataclass(frozen=True)
class Incident:
    """An incident injected into normal traffic (pulse simulate --incident KIND --at TIME)."""

    kind: str
    starts: datetime
    minutes: int = 30
    destination: str = "Paris"

    def active(self, now: datetime) -> bool:
        return self.starts <= now < self.starts + timedelta(minutes=self.minutes)


def parse_incident_time(text: str, now: datetime | None = None) -> datetime:
    """RFC 3339, HH:MM (today, UTC) or +Nm (minutes from now)."""
    now = now or datetime.now(UTC)
    if text.startswith("+") and text.endswith("m") and text[1:-1].isdigit():
        return now + timedelta(minutes=int(text[1:-1]))
    if len(text) == 5 and text[2] == ":" and text.replace(":", "").isdigit():
        return now.replace(hour=int(text[:2]), minute=int(text[3:]), second=0, microsecond=0)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("needs a UTC offset, HH:MM or +Nm")
    return moment


@dataclass
class Journeys:
    rng: random.Random
    incident: Incident | None = None
    customers: list[str] = field(default_factory=list)
    open_sessions: deque[tuple[str, str, str, str | None]] = field(default_factory=lambda: deque(maxlen=2000))
    bookings: deque[tuple[str, Decimal, str]] = field(default_factory=lambda: deque(maxlen=5000))
    # Destination of each recent booking (for incidents that hit one destination).
    booked_at: dict[str, str] = field(default_factory=dict)

    def event(self, now: datetime) -> dict[str, Any]:
        event = self._event(now)
        incident = self.incident
        if incident is None or not incident.active(now):
            return event
        data = event["data"]
        hit = data.get("destination") == incident.destination or self._destination_of(data) == incident.destination
        if incident.kind == "destination-outage" and hit and event["type"] == "booking.created":
            return self._search(now)  # bookings for the destination fail: people only search
        if incident.kind == "price-bug" and hit and event["type"] == "booking.created":
            data["total_amount"] = (Decimal(str(data["total_amount"])) / 100).quantize(Decimal("0.01"))
        if incident.kind == "cancellation-wave" and self.rng.random() < 0.3:
            booked = [b for b in self.bookings if self.booked_at.get(b[0]) == incident.destination]
            if booked:
                return self._envelope("booking.cancelled", now, {"booking_id": self.rng.choice(booked)[0]})
        if incident.kind == "payment-failures" and event["type"] == "payment.captured" and hit:
            if self.rng.random() < 0.7:
                return {**event, "type": "payment.failed", "data": {**data, "reason": "provider_unavailable"}}
        return event

    def _destination_of(self, data: dict[str, Any]) -> str | None:
        booking_id = data.get("booking_id")
        return self.booked_at.get(booking_id) if isinstance(booking_id, str) else None

    def _event(self, now: datetime) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.05 or not self.customers:
            return self._registration(now)
        if roll < 0.55 or not self.open_sessions:
            return self._search(now)
        if roll < 0.72:
            return self._checkout(now)
        if roll < 0.84:
            return self._booking(now)
        if roll < 0.93 and self.bookings:
            payment = self._payment(now)
            if self.rng.random() < 0.03:  # a few payments are refused, as in real traffic
                payment["type"] = "payment.failed"
                payment["data"]["reason"] = "card_declined"
            return payment
        if roll < 0.965 and self.bookings:
            return self._modification(now)
        if self.bookings:
            return self._cancellation(now)
        return self._search(now)

    def _envelope(self, kind: str, now: datetime, data: dict[str, Any]) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": now.isoformat(), "data": data}

    def _destination(self) -> str:
        names = list(DESTINATIONS)
        return self.rng.choices(names, weights=[DESTINATIONS[n][1] for n in names])[0]

    def _registration(self, now: datetime) -> dict[str, Any]:
        customer_id = f"c-{uuid.uuid4().hex[:10]}"
        self.customers.append(customer_id)
        country = self.rng.choice(("PT", "ES", "FR", "GB", "US", "DE", "JP"))
        return self._envelope(
            "customer.registered",
            now,
            {"customer_id": customer_id, "country": country, "channel": self.rng.choice(CHANNELS)},
        )

    def _search(self, now: datetime) -> dict[str, Any]:
        session_id = f"s-{uuid.uuid4().hex[:12]}"
        destination = self._destination()
        customer = self.rng.choice(self.customers) if self.rng.random() < 0.6 else None
        self.open_sessions.append((session_id, destination, self.rng.choice(list(BOOKING_TYPES)), customer))
        data: dict[str, Any] = {"session_id": session_id, "destination": destination}
        if customer:
            data["customer_id"] = customer
        return self._envelope("search.performed", now, data)

    def _checkout(self, now: datetime) -> dict[str, Any]:
        session_id, destination, booking_type, customer = self.rng.choice(self.open_sessions)
        data: dict[str, Any] = {"session_id": session_id, "destination": destination, "booking_type": booking_type}
        if customer:
            data["customer_id"] = customer
        return self._envelope("checkout.started", now, data)

    def _price(self, booking_type: str, currency: str) -> Decimal:
        low, high = BOOKING_TYPES[booking_type]
        amount = Decimal(str(round(self.rng.uniform(low, high), 2)))
        if currency in YEN_LIKE:
            return (amount * YEN_LIKE[currency]).quantize(Decimal(1))
        return amount

    def _booking(self, now: datetime) -> dict[str, Any]:
        _, destination, booking_type, customer = self.rng.choice(self.open_sessions)
        currency = DESTINATIONS[destination][0]
        booking_id = f"b-{uuid.uuid4().hex[:12]}"
        total = self._price(booking_type, currency)
        self.bookings.append((booking_id, total, currency))
        self.booked_at[booking_id] = destination
        if len(self.booked_at) > 10000:
            self.booked_at.pop(next(iter(self.booked_at)))
        travel = (now + timedelta(days=self.rng.randint(3, 180))).date().isoformat()
        return self._envelope(
            "booking.created",
            now,
            {
                "booking_id": booking_id,
                "customer_id": customer or self.rng.choice(self.customers),
                "destination": destination,
                "booking_type": booking_type,
                "total_amount": total,
                "currency": currency,
                "channel": self.rng.choice(CHANNELS),
                "travel_date": travel,
            },
        )

    def _payment(self, now: datetime) -> dict[str, Any]:
        booking_id, total, currency = self.rng.choice(self.bookings)
        return self._envelope(
            "payment.captured", now, {"booking_id": booking_id, "amount": total, "currency": currency}
        )

    def _modification(self, now: datetime) -> dict[str, Any]:
        booking_id, total, currency = self.rng.choice(self.bookings)
        new_total = (total * Decimal(str(round(self.rng.uniform(0.8, 1.3), 2)))).quantize(total)
        return self._envelope(
            "booking.modified", now, {"booking_id": booking_id, "total_amount": new_total, "currency": currency}
        )

    def _cancellation(self, now: datetime) -> dict[str, Any]:
        booking_id, _, _ = self.rng.choice(self.bookings)
        return self._envelope("booking.cancelled", now, {"booking_id": booking_id})


def realistic_noise(rng: random.Random, events: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Some events late (event time minutes ago), some resent, some malformed."""
    noisy: list[dict[str, Any]] = []
    for event in events:
        roll = rng.random()
        if roll < 0.02:
            late = now - timedelta(seconds=rng.randint(60, 3 * 3600))
            event = {**event, "occurred_at": late.isoformat()}
        noisy.append(event)
        if roll > 0.995:
            noisy.append(event)  # a client retry
        elif 0.993 < roll <= 0.995:
            noisy.append({**event, "event_id": str(uuid.uuid4()), "occurred_at": "yesterday"})
    rng.shuffle(noisy)
    return noisy


@dataclass
class Tally:
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed_requests: int = 0


async def simulate(
    url: str,
    rate: float,
    duration: float,
    seed: int | None = None,
    concurrency: int = 4,
    incident: Incident | None = None,
    token: str | None = None,
) -> Tally:
    """Sends about rate events/s (shaped by the time of day) for duration seconds, with an incident if given."""
    rng = random.Random(seed)
    journeys = Journeys(rng, incident)
    tally = Tally()
    endpoint = url.rstrip("/") + "/v1/events"
    in_flight = asyncio.Semaphore(concurrency)
    pending: set[asyncio.Task[None]] = set()
    tick = 0.1
    owed = 0.0

    async def send(client: httpx2.AsyncClient, batch: list[dict[str, Any]]) -> None:
        try:
            body = "\n".join(simplejson.dumps(event, use_decimal=True) for event in batch)
            response = await client.post(endpoint, content=body, headers={"Content-Type": "application/x-ndjson"})
            answer = response.json()
            tally.accepted += answer.get("accepted", 0)
            tally.duplicates += answer.get("duplicates", 0)
            tally.rejected += answer.get("rejected", 0)
        except (httpx2.HTTPError, ValueError):
            tally.failed_requests += 1
        finally:
            in_flight.release()

    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(timeout=30, headers=headers) as client:
        while (elapsed := time.monotonic() - started) < duration:
            now = datetime.now(UTC)
            owed += rate * tick * intensity(now)
            count, owed = int(owed), owed - int(owed)
            if count:
                batch = realistic_noise(rng, [journeys.event(now) for _ in range(count)], now)
                await in_flight.acquire()
                task = asyncio.create_task(send(client, batch))
                pending.add(task)
                task.add_done_callback(pending.discard)
                tally.sent += len(batch)
            await asyncio.sleep(max(0.0, started + (int(elapsed / tick) + 1) * tick - time.monotonic()))
        await asyncio.gather(*pending)
    return tally
