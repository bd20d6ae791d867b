"""Alerts on real PostgreSQL: one per kind and subject, escalation and resolution, acknowledging by SQL and API.

Each rule firing on its incident and staying quiet on normal traffic: tests/test_alert_rules.py.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import psycopg
import pytest

from app.alerts import count_z
from core.settings import Settings
from tests.support.alerting import alert_changes, alerts, load, minute_now, open_alert, run_detector
from tests.support.processes import create_token, running_server
from tests.support.traffic import Minute, weekly_history


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


def test_an_analyst_acknowledges_and_resolves_with_sql_and_may_change_nothing_else(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    alert_id = open_alert(db, "revenue_drop", "all", at=datetime(2026, 11, 26, 9, tzinfo=UTC))
    with psycopg.connect(database_url, autocommit=True) as analyst:
        analyst.execute("set role pulse_analyst")
        analyst.execute(
            "update analytics.alerts set status = 'acknowledged', acknowledged_by = 'ana' where id = %s", (alert_id,)
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("update analytics.alerts set severity = 'info' where id = %s", (alert_id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select * from pulse.alert_changes")
        analyst.execute(
            "update analytics.alerts set status = 'resolved', resolved_by = 'ana' where id = %s", (alert_id,)
        )
        with pytest.raises(psycopg.errors.RaiseException, match="resolved"):
            analyst.execute("update analytics.alerts set status = 'open' where id = %s", (alert_id,))
        row = analyst.execute(
            "select status, acknowledged_by, resolved_by, acknowledged_at is not null, resolved_at is not null "
            "from analytics.alerts where id = %s",
            (alert_id,),
        ).fetchone()
    assert row == ("resolved", "ana", "ana", True, True)
    changes = db.execute("select change, alert->>'status' from pulse.alert_changes order by seq").fetchall()
    assert changes == [("opened", "open"), ("acknowledged", "acknowledged"), ("resolved", "resolved")]


def test_acknowledging_and_resolving_through_the_api_takes_an_admin_token(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    alert_id = open_alert(db, "no_bookings", "destination=Lisbon", "critical")
    reader, admin = create_token(database_url, "read"), create_token(database_url, "admin")
    with running_server(database_url, PULSE_AUTH="tokens", PULSE_DETECTOR_INTERVAL="0", PULSE_DQ_INTERVAL="0") as base:

        def post(action: str, token: str | None, body: Any = None, alert: int = alert_id) -> httpx2.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return httpx2.post(f"{base}/v1/alerts/{alert}/{action}", json=body, headers=headers, timeout=10)

        for action in ("ack", "resolve"):
            assert post(action, None).status_code == 401
            assert post(action, reader).status_code == 403
        listed = httpx2.get(base + "/v1/alerts", headers={"Authorization": f"Bearer {reader}"}, timeout=10)
        assert [(a["id"], a["status"]) for a in listed.json()["alerts"]] == [(alert_id, "open")]

        acknowledged = post("ack", admin, {"by": "ana"})
        assert acknowledged.status_code == 200
        assert acknowledged.json()["status"] == "acknowledged" and acknowledged.json()["acknowledged_by"] == "ana"
        assert acknowledged.json()["acknowledged_at"] is not None
        resolved = post("resolve", admin, {"by": "ben"})
        assert resolved.status_code == 200
        assert resolved.json()["status"] == "resolved" and resolved.json()["resolved_by"] == "ben"
        # Acknowledging a resolved alert leaves it resolved; unknown alerts and bad bodies are refused.
        assert post("ack", admin).json()["status"] == "resolved"
        assert post("ack", admin, alert=alert_id + 100).status_code == 404
        bad = httpx2.post(
            f"{base}/v1/alerts/{alert_id}/ack",
            content=b"{",
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        assert bad.status_code == 400
    assert [change for _, _, change in alert_changes(db)] == ["opened", "acknowledged", "resolved"]


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
