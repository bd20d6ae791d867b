"""The live, "today"-relative and derived views, on hand-made scenarios."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from core.settings import Settings
from tests.support.events import booking, make_event
from tests.support.model import business_day_start
from tests.support.pipeline import append, drain

ZONE = "America/New_York"


def local_today() -> datetime:
    """Start of today in the business time zone, in UTC."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    return business_day_start(today, ZONE)


def run(settings: Settings, events: list[dict[str, Any]]) -> None:
    asyncio.run(append(settings.database_url, events))
    asyncio.run(drain(settings, batch_size=7))


@pytest.fixture
def business(db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    db.execute("update analytics.settings set timezone = %s, reporting_currency = 'USD'", (ZONE,))
    db.execute(
        "insert into analytics.fx_rates (currency, to_currency, valid_from, rate) "
        "values ('EUR', 'USD', '2000-01-01', 1.5)"
    )
    return db


def test_kpis_today_count_only_today_in_the_business_time_zone(
    settings: Settings, business: psycopg.Connection[Any]
) -> None:
    today = local_today()
    early = booking("Lisbon", amount="100.00", currency="USD", occurred_at=today + timedelta(minutes=30))
    run(
        settings,
        [
            early,
            booking("Lisbon", amount="40.00", currency="EUR", occurred_at=today + timedelta(minutes=40)),
            # One minute before the business day began: yesterday.
            booking("Lisbon", amount="999.00", currency="USD", occurred_at=today - timedelta(minutes=1)),
            make_event(
                "booking.cancelled",
                today + timedelta(minutes=50),
                booking_id=early["data"]["booking_id"],
                refund_amount="30.00",
            ),
            *[make_event("search.performed", today + timedelta(minutes=5), destination="Lisbon") for _ in range(8)],
        ],
    )
    kpis = business.execute(
        "select day, reporting_currency, bookings, revenue, net_revenue, avg_booking_value, searches, conversion_rate, "
        "cancellations, refunds, missing_rates from analytics.kpis_today"
    ).fetchone()
    assert kpis == (
        today.astimezone(ZoneInfo(ZONE)).date(),
        "USD",
        2,
        Decimal("160.00"),
        Decimal("130.00"),
        Decimal("80.00"),
        8,
        Decimal("0.2500"),
        1,
        Decimal("30.00"),
        None,
    )

    run(settings, [booking("Tokyo", amount="5000", currency="JPY", occurred_at=today + timedelta(minutes=45))])
    revenue = business.execute(
        "select bookings, revenue, net_revenue, missing_rates from analytics.kpis_today"
    ).fetchone()
    assert revenue == (3, None, None, ["JPY"])


def test_top_destinations_and_revenue_by_type_rank_today_and_the_last_7_days(
    settings: Settings, business: psycopg.Connection[Any]
) -> None:
    today = local_today()
    run(
        settings,
        [
            booking("Lisbon", "flight", "100", "USD", today + timedelta(hours=1)),
            booking("Tokyo", "hotel", "300", "USD", today + timedelta(hours=1)),
            booking("Tokyo", "hotel", "50", "EUR", today - timedelta(days=6, hours=-1)),  # 6 days ago: in the week
            booking("Cancun", "package", "5000", "USD", today - timedelta(days=7, hours=-1)),  # 7 days ago: out
            booking("Paris", "flight", "10", "JPY", today + timedelta(hours=2)),  # no rate: ranks last
        ],
    )
    top = business.execute(
        "select period, rank, destination, bookings, net_revenue, missing_rates from analytics.top_destinations "
        "order by period, rank"
    ).fetchall()
    assert top == [
        ("last_7_days", 1, "Tokyo", 2, Decimal("375.0"), None),
        ("last_7_days", 2, "Lisbon", 1, Decimal("100"), None),
        ("last_7_days", 3, "Paris", 1, None, ["JPY"]),
        ("today", 1, "Tokyo", 1, Decimal("300"), None),
        ("today", 2, "Lisbon", 1, Decimal("100"), None),
        ("today", 3, "Paris", 1, None, ["JPY"]),
    ]
    by_type = business.execute(
        "select period, booking_type, bookings, gross_revenue from analytics.revenue_by_booking_type order by 1, 2"
    ).fetchall()
    assert by_type == [
        ("last_7_days", "flight", 2, None),
        ("last_7_days", "hotel", 2, Decimal("375.0")),
        ("today", "flight", 2, None),
        ("today", "hotel", 1, Decimal("300")),
    ]


def test_bookings_series_has_every_bucket_with_zeros_for_quiet_ones(
    settings: Settings, business: psycopg.Connection[Any]
) -> None:
    business.execute("update analytics.settings set timezone = 'Europe/London'")
    start = datetime(2026, 3, 28, 22, tzinfo=UTC)
    run(
        settings,
        [
            booking("Lisbon", amount="10", currency="USD", occurred_at=start + timedelta(minutes=10)),
            booking("Lisbon", amount="20", currency="USD", occurred_at=start + timedelta(hours=3, minutes=59)),
            booking("Tokyo", amount="99", currency="USD", occurred_at=start + timedelta(hours=3)),
        ],
    )
    hourly = business.execute(
        "select bucket, bookings, gross_revenue from analytics.bookings_series(%s, %s, 'hour', 'Lisbon')",
        (start, start + timedelta(hours=5)),
    ).fetchall()
    assert hourly == [
        (start, 1, Decimal("10")),
        (start + timedelta(hours=1), 0, Decimal("0")),
        (start + timedelta(hours=2), 0, Decimal("0")),
        (start + timedelta(hours=3), 1, Decimal("20")),
        (start + timedelta(hours=4), 0, Decimal("0")),
    ]
    # Days in London across the change to summer time: the 29th has 23 hours.
    daily = business.execute(
        "select bucket, bookings from analytics.bookings_series(%s, %s, 'day')",
        (datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)),
    ).fetchall()
    assert daily == [
        (datetime(2026, 3, 28, tzinfo=UTC), 1),
        (datetime(2026, 3, 29, tzinfo=UTC), 2),
        (datetime(2026, 3, 29, 23, tzinfo=UTC), 0),
        (datetime(2026, 3, 30, 23, tzinfo=UTC), 0),
    ]
    with pytest.raises(psycopg.errors.RaiseException, match="granularity must be hour or day"):
        business.execute("select * from analytics.bookings_series(now(), now(), 'week')")


def test_customer_lifetime_segments_and_journey_stages(settings: Settings, business: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    def booked(customer: str, days: float, amount: str = "100.00") -> dict[str, Any]:
        event = booking("Lisbon", amount=amount, currency="USD", occurred_at=ago(days))
        event["data"]["customer_id"] = customer
        return event

    cancelled = booked("cancelled", 5)
    events = [
        make_event("search.performed", ago(1), destination="Lisbon", customer_id="browser"),
        make_event("search.performed", ago(2), destination="Lisbon", customer_id="shopper"),
        make_event("checkout.started", ago(1), destination="Lisbon", booking_type="flight", customer_id="shopper"),
        make_event("customer.registered", ago(1), customer_id="newcomer"),
        booked("first-timer", 10),
        *[booked("champion", d, "2000.00") for d in (5, 50, 80)],
        *[booked("loyal", d) for d in (5, 50, 80)],
        *[booked("at-risk", d) for d in (200, 250, 300)],
        booked("lapsed", 400),
        booked("big-spender", 200, "9000.00"),
        booked("occasional", 200),
        cancelled,
        make_event("booking.cancelled", ago(4), booking_id=cancelled["data"]["booking_id"]),
        booked("returning", 30),
        make_event("search.performed", ago(1), destination="Tokyo", customer_id="returning"),
    ]
    run(settings, events)
    lifetime = {
        row[0]: row[1:]
        for row in business.execute(
            "select customer_id, segment, journey_stage, lifetime_bookings, lifetime_net_value "
            "from analytics.customer_lifetime"
        ).fetchall()
    }
    assert lifetime == {
        "browser": ("prospect", "searched", 0, None),
        "shopper": ("prospect", "in checkout", 0, None),
        "newcomer": ("prospect", "registered", 0, None),
        "first-timer": ("new", "booked", 1, Decimal("100.00")),
        "champion": ("champion", "booked", 3, Decimal("6000.00")),
        "loyal": ("loyal", "booked", 3, Decimal("300.00")),
        "at-risk": ("at_risk", "booked", 3, Decimal("300.00")),
        "lapsed": ("lapsed", "lapsed", 1, Decimal("100.00")),
        "big-spender": ("big_spender", "booked", 1, Decimal("9000.00")),
        "occasional": ("occasional", "booked", 1, Decimal("100.00")),
        "cancelled": ("new", "cancelled", 1, Decimal("0.00")),
        "returning": ("new", "searched", 1, Decimal("100.00")),
    }
    # Thresholds are data: a stricter "recent" turns the first-timer into an occasional customer.
    business.execute("update analytics.customer_segment_rules set recent_days = 7")
    segment = business.execute("select segment from analytics.customer_lifetime where customer_id = 'first-timer'")
    assert segment.fetchone() == ("occasional",)


def test_an_hour_a_late_event_left_at_zero_needs_no_exchange_rate(
    settings: Settings, business: psycopg.Connection[Any]
) -> None:
    today = local_today()
    tokyo = booking("Tokyo", amount="5000", currency="JPY", occurred_at=today - timedelta(hours=3))
    booking_id = tokyo["data"]["booking_id"]
    run(settings, [tokyo, make_event("booking.cancelled", today + timedelta(hours=1), booking_id=booking_id)])
    kpis = "select bookings, cancellations, revenue, refunds, missing_rates from analytics.kpis_today"
    assert business.execute(kpis).fetchone() == (0, 1, None, None, ["JPY"])
    # An earlier cancellation arrives late: the booking was cancelled yesterday, not today.
    run(settings, [make_event("booking.cancelled", today - timedelta(hours=1), booking_id=booking_id)])
    assert business.execute(kpis).fetchone() == (0, 0, Decimal(0), Decimal(0), None)


# Each rollup's key columns other than its time, and the values of those in the rows below.
ROLLUP_KEYS = {
    "hourly": ("destination, booking_type, channel, currency, changed_in_batch", "d, 'flight', 'web', 'EUR', 1"),
    "daily": ("destination, booking_type, channel, currency", "d, 'flight', 'web', 'EUR'"),
    "destinations_daily": ("destination, currency", "d, 'EUR'"),
}
DESTINATIONS = "unnest(array['Lisbon', 'Tokyo', 'Paris', 'Oslo', 'Rome', 'Lima', 'Cairo', 'Quito']) as d"


def plan_nodes(db: psycopg.Connection[Any], statement: str) -> list[dict[str, Any]]:
    """Every node of the statement's plan."""
    row = db.execute(f"explain (format json) {statement}").fetchone()
    assert row is not None
    nodes, pending = [], [row[0][0]["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


@pytest.mark.parametrize(
    ("view", "key", "rollup"),
    [
        ("bookings_hourly", "bucket", "hourly"),
        ("bookings_daily", "day", "daily"),
        ("destinations_daily", "day", "destinations_daily"),
    ],
)
def test_the_latest_rows_of_a_rollup_view_are_read_from_its_key(
    db: psycopg.Connection[Any], view: str, key: str, rollup: str
) -> None:
    # Two years of hours (or of days), for eight destinations: an analyst asking for the latest ten rows
    # must get them through the rollup's primary key, not by sorting every row of the view.
    step, cast = ("1 hour", "timestamptz") if key == "bucket" else ("1 day", "date")
    columns, values = ROLLUP_KEYS[rollup]
    db.execute(
        f"insert into pulse_bookings.{rollup} ({key}, {columns}, bookings, gross_revenue) "
        f"select t::{cast}, {values}, 1, 100 "
        f"from generate_series(timestamptz '2024-01-01', timestamptz '2026-01-01', interval '{step}') as t, "
        + DESTINATIONS
    )
    db.execute(f"analyze pulse_bookings.{rollup}")
    latest = f"select * from analytics.{view} order by {key} desc limit 10"
    nodes = plan_nodes(db, latest)
    assert not [n for n in nodes if "Sort" in n["Node Type"]], f"{view} sorts its rows: {nodes}"
    assert [n for n in nodes if n.get("Index Name") == f"{rollup}_pkey"], f"{view} does not use its key: {nodes}"
    rows = db.execute(latest).fetchall()
    # The last hour's (or day's) eight rows, then two of the one before.
    step_back = timedelta(hours=1) if key == "bucket" else timedelta(days=1)
    assert len(rows) == 10 and rows[0][0] - rows[-1][0] == step_back


@pytest.mark.parametrize("view", ["top_destinations", "revenue_by_booking_type"])
def test_today_and_the_last_7_days_are_read_without_scanning_every_hour(db: psycopg.Connection[Any], view: str) -> None:
    columns, values = ROLLUP_KEYS["hourly"]
    db.execute(
        f"insert into pulse_bookings.hourly (bucket, {columns}, bookings, gross_revenue) "
        f"select t, {values}, 1, 100 "
        "from generate_series(date_bin('1 hour', now() - interval '2 years', timestamptz '2000-01-01'), now(), "
        "interval '1 hour') as t, " + DESTINATIONS
    )
    db.execute("analyze pulse_bookings.hourly")
    # Joined by day alone, the planner chose here to read every hour.
    db.execute("analyze pulse.calendar")
    hourly = [n for n in plan_nodes(db, f"select * from analytics.{view}") if n.get("Relation Name") == "hourly"]
    assert hourly and all(n["Node Type"] != "Seq Scan" for n in hourly), hourly
    # Eight destinations booked every hour: today's and the week's figures are all there.
    assert db.execute(f"select count(*) from analytics.{view}").fetchone() == (16 if view == "top_destinations" else 2,)


def test_a_month_by_destination_is_read_from_the_key_alone(db: psycopg.Connection[Any]) -> None:
    columns, values = ROLLUP_KEYS["destinations_daily"]
    db.execute(
        f"insert into pulse_bookings.destinations_daily (day, {columns}, bookings, gross_revenue) "
        f"select t::date, {values}, 1, 100 "
        "from generate_series(timestamptz '2024-01-01', timestamptz '2026-01-01', interval '1 day') as t, "
        + DESTINATIONS
    )
    db.execute("vacuum analyze pulse_bookings.destinations_daily")
    month = (
        "select day, destination, currency, gross_revenue, net_revenue from analytics.destinations_daily "
        "where day >= date '2025-06-01' and day < date '2025-07-01' order by 1, 2, 3"
    )
    nodes = plan_nodes(db, month)
    assert [n["Node Type"] for n in nodes] == ["Index Only Scan"], nodes
    rows = db.execute(month).fetchall()
    assert len(rows) == 30 * 8 and rows == sorted(rows) and {row[3] for row in rows} == {Decimal(100)}


def test_a_day_of_analytics_bookings_is_found_by_its_creation_time(db: psycopg.Connection[Any]) -> None:
    # A year of bookings, one every ten minutes; the legacy nightly report's SQL, pointed at analytics.bookings.
    db.execute("set timezone = 'UTC'")  # date(created_at) is the session's date
    db.execute(
        "insert into pulse_bookings.bookings (booking_id, customer_id, destination, booking_type, channel, "
        "created_at, created_total, created_currency, current_total, current_currency, last_event_at, "
        "changed_in_batch) "
        "select 'b' || n, 'c' || n % 500, 'Lisbon', 'flight', 'web', t, 100, 'EUR', 100, 'EUR', t, 1 "
        "from generate_series(timestamptz '2025-01-01', timestamptz '2026-01-01', interval '10 minutes') "
        "with ordinality as s (t, n)"
    )
    db.execute("analyze pulse_bookings.bookings")
    report = (
        "select date(created_at), count(*), sum(total_amount), avg(total_amount) from analytics.bookings "
        "where created_at >= '2025-06-01 00:00+00' and created_at < '2025-06-02 00:00+00' group by 1"
    )
    scans = [n for n in plan_nodes(db, report) if n.get("Relation Name") == "bookings"]
    assert scans and all(n["Node Type"] != "Seq Scan" for n in scans), scans
    assert db.execute(report).fetchall() == [(date(2025, 6, 1), 144, Decimal(14400), Decimal(100))]
