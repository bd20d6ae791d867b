"""An independent model of the analytics semantics, in plain Python.

It reads the events as they were sent and works out what every view should
say, one booking at a time, without any of the projections' SQL. Tests
compare the views with it.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

Key = tuple[datetime, str, str, str, str]  # bucket, destination, booking_type, channel, currency


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class Stored:
    seq: int
    type: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass
class HourlyRow:
    bookings: int = 0
    gross_revenue: Decimal = Decimal(0)
    modifications: int = 0
    modification_revenue: Decimal = Decimal(0)
    cancellations: int = 0
    refunds: Decimal = Decimal(0)
    customers: set[str] = field(default_factory=set)
    values: list[Decimal] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.bookings or self.modifications or self.modification_revenue or self.cancellations or self.refunds
        )

    @property
    def net_revenue(self) -> Decimal:
        return self.gross_revenue + self.modification_revenue - self.refunds


@dataclass
class Booking:
    booking_id: str
    customer_id: str
    destination: str
    booking_type: str
    channel: str
    created_at: datetime
    created_total: Decimal
    created_currency: str
    current_total: Decimal
    currency: str
    modifications: int = 0
    cancelled_at: datetime | None = None
    amount_refunded: Decimal = Decimal(0)
    paid: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    # (bucket, currency, amount): what the booking is worth over its life, piece by piece.
    amounts: list[tuple[datetime, str, Decimal]] = field(default_factory=list)
    last_event_at: datetime | None = None

    @property
    def status(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return "modified" if self.modifications else "confirmed"

    @property
    def amount_paid(self) -> Decimal:
        return self.paid.get(self.currency, Decimal(0))

    @property
    def other_payments(self) -> dict[str, Decimal] | None:
        other = {currency: amount for currency, amount in self.paid.items() if currency != self.currency}
        return other or None


class Model:
    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self.stored: list[Stored] = []
        self.rejected: list[dict[str, Any]] = []
        event_ids: set[str] = set()
        booking_ids: set[str] = set()
        for event in sent:
            if event["event_id"] in event_ids:
                continue  # a resend: stored once
            if event["type"] == "booking.created":
                if event["data"]["booking_id"] in booking_ids:
                    self.rejected.append(event)  # a second creation of the same booking
                    continue
                booking_ids.add(event["data"]["booking_id"])
            event_ids.add(event["event_id"])
            occurred_at = datetime.fromisoformat(event["occurred_at"])
            self.stored.append(Stored(len(self.stored), event["type"], occurred_at, event["data"]))
        self.hourly: defaultdict[Key, HourlyRow] = defaultdict(HourlyRow)
        # The same figures per exact moment of the events: business days take each event's local date.
        self.moments: defaultdict[Key, HourlyRow] = defaultdict(HourlyRow)
        self.bookings: dict[str, Booking] = {}
        self.held: dict[str, list[Stored]] = {}
        self._replay_bookings()

    def _replay_bookings(self) -> None:
        histories: defaultdict[str, list[Stored]] = defaultdict(list)
        for event in self.stored:
            if event.type.startswith("booking.") or event.type == "payment.captured":
                histories[event.data["booking_id"]].append(event)
        for booking_id, events in histories.items():
            created = [e for e in events if e.type == "booking.created"]
            if not created:
                self.held[booking_id] = events
                continue
            self._replay(
                created[0], sorted((e for e in events if e is not created[0]), key=lambda e: (e.occurred_at, e.seq))
            )

    def _replay(self, created: Stored, later: list[Stored]) -> None:
        data = created.data
        amount = Decimal(data["total_amount"])
        booking = Booking(
            booking_id=data["booking_id"],
            customer_id=data["customer_id"],
            destination=data["destination"],
            booking_type=data["booking_type"],
            channel=data.get("channel") or "unknown",
            created_at=created.occurred_at,
            created_total=amount,
            created_currency=data["currency"],
            current_total=amount,
            currency=data["currency"],
            last_event_at=created.occurred_at,
        )
        self.bookings[booking.booking_id] = booking

        def rows(at: datetime, currency: str) -> tuple[HourlyRow, HourlyRow]:
            """The hourly row an event at this time counts in, and the row of its exact moment."""
            rest = (booking.destination, booking.booking_type, booking.channel, currency)
            return self.hourly[(hour_of(at), *rest)], self.moments[(at, *rest)]

        for first in rows(created.occurred_at, booking.currency):
            first.bookings += 1
            first.gross_revenue += amount
            first.customers.add(booking.customer_id)
            first.values.append(amount)
        booking.amounts.append((hour_of(created.occurred_at), booking.currency, amount))
        for event in later:
            assert booking.last_event_at is not None
            booking.last_event_at = max(booking.last_event_at, event.occurred_at)
            if event.type == "booking.modified":
                new_total, new_currency = Decimal(event.data["total_amount"]), event.data["currency"]
                for previous in rows(event.occurred_at, booking.currency):
                    previous.modification_revenue -= booking.current_total
                for modified in rows(event.occurred_at, new_currency):
                    modified.modification_revenue += new_total
                    modified.modifications += 1
                booking.amounts.append((hour_of(event.occurred_at), booking.currency, -booking.current_total))
                booking.amounts.append((hour_of(event.occurred_at), new_currency, new_total))
                booking.current_total, booking.currency = new_total, new_currency
                booking.modifications += 1
            elif event.type == "booking.cancelled" and booking.cancelled_at is None:
                refund = event.data.get("refund_amount")
                refund_amount = booking.current_total if refund is None else Decimal(refund)
                for cancelled in rows(event.occurred_at, booking.currency):
                    cancelled.cancellations += 1
                    cancelled.refunds += refund_amount
                booking.amounts.append((hour_of(event.occurred_at), booking.currency, -refund_amount))
                booking.cancelled_at = event.occurred_at
                booking.amount_refunded = refund_amount
            elif event.type == "payment.captured":
                booking.paid[event.data["currency"]] += Decimal(event.data["amount"])

    # What each view should hold.

    def bookings_hourly(self) -> list[tuple[Any, ...]]:
        return sorted(
            (
                *key,
                r.bookings,
                r.gross_revenue,
                r.modifications,
                r.modification_revenue,
                r.cancellations,
                r.refunds,
                r.net_revenue,
                len(r.customers),
            )
            for key, r in self.hourly.items()
            if not r.is_empty()
        )

    def bookings_daily(self, zone: str, by: tuple[int, ...] = (0, 1, 2, 3)) -> list[tuple[Any, ...]]:
        """Per local date of the events in zone; by picks key fields (destination, booking type, channel, currency)."""
        days: defaultdict[tuple[Any, ...], HourlyRow] = defaultdict(HourlyRow)
        for (moment, *rest), r in self.moments.items():
            day = days[(moment.astimezone(ZoneInfo(zone)).date(), *(rest[i] for i in by))]
            day.bookings += r.bookings
            day.gross_revenue += r.gross_revenue
            day.modifications += r.modifications
            day.modification_revenue += r.modification_revenue
            day.cancellations += r.cancellations
            day.refunds += r.refunds
            day.customers |= r.customers
            day.values += r.values
        return sorted(
            (
                *key,
                r.bookings,
                r.gross_revenue,
                r.modifications,
                r.modification_revenue,
                r.cancellations,
                r.refunds,
                r.net_revenue,
                len(r.customers),
            )
            for key, r in days.items()
            if not r.is_empty()
        )

    def booking_values(self, zone: str | None = None) -> dict[tuple[Any, ...], list[Decimal]]:
        """Booking values per hourly key, or per daily key in a time zone."""
        values: defaultdict[tuple[Any, ...], list[Decimal]] = defaultdict(list)
        for (moment, *rest), r in self.moments.items():
            when: Any = hour_of(moment) if zone is None else moment.astimezone(ZoneInfo(zone)).date()
            values[(when, *rest)] += r.values
        return {key: sorted(v) for key, v in values.items() if v}

    def booking_states(self) -> list[tuple[Any, ...]]:
        return sorted(
            (
                b.booking_id,
                b.customer_id,
                b.destination,
                b.booking_type,
                b.channel,
                b.status,
                b.created_at,
                b.created_total,
                b.created_currency,
                b.current_total,
                b.currency,
                b.modifications,
                b.cancelled_at,
                b.amount_refunded,
                b.amount_paid,
                b.other_payments,
                b.last_event_at,
            )
            for b in self.bookings.values()
        )

    def held_events(self) -> list[tuple[str, int]]:
        return sorted((booking_id, len(events)) for booking_id, events in self.held.items())

    def conversion_hourly(self) -> list[tuple[Any, ...]]:
        funnel: defaultdict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        column = {"search.performed": 0, "checkout.started": 1, "booking.created": 2}
        for event in self.stored:
            if event.type in column:
                funnel[(hour_of(event.occurred_at), event.data["destination"])][column[event.type]] += 1
        return sorted((*key, *counts) for key, counts in funnel.items())

    def legacy_daily_report(self, zone: str) -> list[tuple[date, int, Decimal, Decimal]]:
        days: defaultdict[date, list[Decimal]] = defaultdict(list)
        for b in self.bookings.values():
            days[b.created_at.astimezone(ZoneInfo(zone)).date()].append(b.created_total)
        return sorted(
            (day, len(v), sum(v, Decimal(0)), round(sum(v, Decimal(0)) / len(v), 6)) for day, v in days.items()
        )

    def legacy_customer_analytics(self) -> list[tuple[str, int, Decimal, datetime]]:
        per_customer: defaultdict[str, list[Booking]] = defaultdict(list)
        for b in self.bookings.values():
            per_customer[b.customer_id].append(b)
        return sorted(
            (customer, len(bs), sum((b.created_total for b in bs), Decimal(0)), max(b.created_at for b in bs))
            for customer, bs in per_customer.items()
        )

    def lifetime_net_values(self, rate: Any) -> dict[str, Decimal | None]:
        """Per customer, net value in the reporting currency; None when an amount has no rate."""
        values: dict[str, Decimal | None] = {}
        for b in self.bookings.values():
            total = values.get(b.customer_id, Decimal(0))
            for bucket, currency, amount in b.amounts:
                factor = rate(currency, bucket)
                total = None if total is None or factor is None else total + amount * factor
            values[b.customer_id] = total
        return values


def percentile_bounds(values: list[Decimal], q: float) -> tuple[Decimal, Decimal]:
    """Where an estimate of the q-quantile of few values may fall: the neighbours of its rank."""
    n = len(values)
    low = values[max(0, math.floor(q * n) - 1)]
    high = values[min(n - 1, math.ceil(q * n))]
    return low, high


def business_day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)


ONE_HOUR = timedelta(hours=1)
