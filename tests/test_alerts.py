"""The alert detector on real PostgreSQL: each rule fires on its incident and stays quiet on normal traffic."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from app.alerts import count_z, detect
from core.settings import Settings
from projections import SIGNALS
from tests.support.pipeline import append, drain
from tests.support.traffic import Minute, Tweak, weekly_history


def minute_now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def load(settings: Settings, events: list[dict[str, Any]]) -> None:
    async def run() -> None:
        for start in range(0, len(events), 5000):
            items = await append(settings.database_url, events[start : start + 5000])
            assert all(item.status == "accepted" for item in items), [i.reasons for i in items if i.reasons][:3]
        await drain(settings, batch_size=20000, projections=(SIGNALS,))

    asyncio.run(run())


def run_detector(settings: Settings, now: datetime) -> Any:
    async def run() -> Any:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            return await detect(conn, now)

    return asyncio.run(run())


def alerts(db: psycopg.Connection[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    rows = cur.execute("select * from analytics.alerts order by id").fetchall()
    return {(row["kind"], row["subject"]): row for row in rows}


def scenario(settings: Settings, now: datetime, tweak: Tweak | None = None) -> None:
    traffic = weekly_history(now)
    traffic.between(now - timedelta(hours=2), now, tweak)
    load(settings, traffic.events)


def since(now: datetime, minutes: int) -> Any:
    return lambda at: at >= now - timedelta(minutes=minutes)


def test_normal_traffic_opens_no_alert(settings: Settings, db: psycopg.Connection[Any]) -> None:
    now = minute_now()
    scenario(settings, now)
    summary = run_detector(settings, now)
    assert not summary.skipped
    assert alerts(db) == {}
    assert summary.seconds < 2, f"the detector took {summary.seconds:.2f} s"


def test_each_incident_opens_its_alert_for_its_destination_only(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    now = minute_now()
    recent = since(now, 25)

    def incidents(destination: str, at: datetime, minute: Minute) -> None:
        if not recent(at):
            return
        if destination == "Lisbon":  # destination outage
            minute.bookings = 0
        elif destination == "Paris" and at >= now - timedelta(minutes=10):  # price bug
            minute.price_factor = 0.05
        elif destination == "Tokyo":  # cancellation wave
            minute.cancellations *= 15
        elif destination == "Oslo":  # payment failures
            minute.failure_share = 0.7

    scenario(settings, now, incidents)
    run_detector(settings, now)
    fired = alerts(db)
    kinds = {subject: {k for k, s in fired if s == subject} for _, subject in fired}
    assert {"no_bookings", "revenue_drop"} <= kinds["destination=Lisbon"]
    assert any(s.startswith("destination=Paris booking_type=") for k, s in fired if k == "booking_value_outlier")
    assert "cancellations_spike" in kinds["destination=Tokyo"]
    assert "payment_failures_spike" in kinds["destination=Oslo"]
    assert "destination=Reykjavik" not in kinds, "a small destination paged someone"
    outage = fired[("no_bookings", "destination=Lisbon")]
    assert outage["severity"] == "critical" and outage["status"] == "open"
    assert outage["observed"] == 0 and outage["expected"] > 8 and outage["details"]["unit"] == "count"
    value = next(v for (k, s), v in fired.items() if k == "booking_value_outlier")
    assert value["details"]["unit"] == "USD" and value["observed"] < value["details"]["usual_low"]


def test_payments_captured_far_below_the_total_open_a_shortfall(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    now = minute_now()
    recent = since(now, 30)

    def deposits_only(destination: str, at: datetime, minute: Minute) -> None:
        if destination == "Oslo" and recent(at):
            minute.paid_share = 0.2

    scenario(settings, now, deposits_only)
    run_detector(settings, now)
    fired = alerts(db)
    shortfall = fired[("payment_shortfall", "destination=Oslo")]
    assert float(shortfall["observed"]) == pytest.approx(0.2, abs=0.01) and shortfall["details"]["unit"] == "ratio"
    assert {s for k, s in fired if k == "payment_shortfall"} <= {"destination=Oslo", "all", "currency=USD"}


def test_one_alert_per_kind_and_subject_escalates_then_resolves(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    now = minute_now() - timedelta(minutes=40)

    def outage(destination: str, at: datetime, minute: Minute) -> None:
        if destination == "Lisbon" and now - timedelta(minutes=15) <= at < now:
            minute.bookings = 0

    traffic = weekly_history(now, hours_before=2)
    for k in range(1, 5):
        then = now - timedelta(days=7 * k)
        traffic.between(then + timedelta(hours=1), then + timedelta(hours=2))
    traffic.between(now - timedelta(hours=2), now + timedelta(minutes=40), outage)
    load(settings, traffic.events)
    run_detector(settings, now - timedelta(minutes=5))
    run_detector(settings, now)
    run_detector(settings, now + timedelta(minutes=1))
    lisbon = [a for (k, s), a in alerts(db).items() if s == "destination=Lisbon" and k == "no_bookings"]
    assert len(lisbon) == 1, "the same condition opened more than one alert"
    changes = db.execute(
        "select change from pulse.alert_changes where alert_id = %s order by seq", (lisbon[0]["id"],)
    ).fetchall()
    assert [c[0] for c in changes] == ["opened"]
    # Bookings are back from "now" on; once the rule has been quiet for its resolve_after_minutes, it resolves.
    run_detector(settings, now + timedelta(minutes=30))
    resolved = alerts(db)[("no_bookings", "destination=Lisbon")]
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "detector"
    assert resolved["resolved_at"] == now + timedelta(minutes=30)


def test_acknowledging_and_resolving_with_sql(db: psycopg.Connection[Any]) -> None:
    at = datetime(2026, 11, 26, 9, tzinfo=UTC)
    (alert_id,) = db.execute(
        "insert into analytics.alerts (opened_at, kind, subject, severity, last_seen_at) "
        "values (%s, 'revenue_drop', 'all', 'warning', %s) returning id",
        (at, at),
    ).fetchone() or (None,)
    db.execute(
        "update analytics.alerts set status = 'acknowledged', acknowledged_by = 'ana' where id = %s", (alert_id,)
    )
    db.execute("update analytics.alerts set status = 'resolved' where id = %s", (alert_id,))
    with pytest.raises(psycopg.errors.RaiseException, match="resolved"):
        db.execute("update analytics.alerts set status = 'open' where id = %s", (alert_id,))
    changes = db.execute("select change, alert->>'status' from pulse.alert_changes order by seq").fetchall()
    assert changes == [("opened", "open"), ("acknowledged", "acknowledged"), ("resolved", "resolved")]
    row = db.execute("select acknowledged_at, resolved_at from analytics.alerts where id = %s", (alert_id,)).fetchone()
    assert row is not None and None not in row


def test_the_noise_model_is_calibrated_for_poisson_counts() -> None:
    # Zero where 12 are expected is about as rare as 5.5 standard deviations; 12 where 12 are expected is nothing.
    assert count_z(0, 12, 0.0) < -5
    assert abs(count_z(12, 12, 0.0)) < 0.2
    assert count_z(30, 12, 0.0) > 3.5


def test_a_usual_range_of_free_bookings_is_no_reason_to_divide_by_zero() -> None:
    from app.alerts import Rule, score_values

    rule = Rule(
        "booking_value", "booking_value_outlier", "booking_value", "both", None, (), 5.0, 20.0, 0.0, 0.0, "warning", 60
    )
    row = {
        "low": 0,
        "high": 0,
        "min_value": 0,
        "max_value": 120,
        "median": 0,
        "currency": "EUR",
        "destination": "Lisbon",
        "booking_type": "flight",
    }
    assert score_values(rule, [row]) == []
