"""Every rule of analytics.alert_rules: one incident that makes it fire, and normal traffic that keeps it quiet.

Two databases, loaded once for the module: normal traffic, and the same
traffic with an incident at each of several destinations. Each test runs the
detector with only its rule enabled, in a transaction it rolls back.
"""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from app.alerts import detect
from core.settings import Settings
from tests.support.alerting import load, this_hour
from tests.support.databases import scratch_database
from tests.support.traffic import Minute, weekly_history

RATES = {"Lisbon": 4.0, "Paris": 3.0, "Tokyo": 2.0, "Oslo": 2.0, "Rome": 3.0, "Madrid": 2.0, "Reykjavik": 0.05}
INCIDENT_MINUTES = 40


def incidents(now: datetime) -> Any:
    """At each destination but Reykjavik, its own incident during the last minutes before now."""

    def tweak(destination: str, at: datetime, minute: Minute) -> None:
        if at < now - timedelta(minutes=INCIDENT_MINUTES):
            return
        if destination == "Lisbon":  # an outage: no booking, no search
            minute.bookings = 0
        elif destination == "Rome":  # checkout broken: searches as usual, a fifth of the bookings
            minute.searches = minute.bookings * 3
            minute.bookings *= 0.2
        elif destination == "Tokyo":  # a cancellation wave
            minute.cancellations *= 20
        elif destination == "Oslo":  # the payment provider fails
            minute.failure_share = 0.7
        elif destination == "Madrid" and at >= now - timedelta(minutes=30):  # only deposits captured
            minute.paid_share = 0.2
        elif destination == "Paris" and at >= now - timedelta(minutes=10):  # prices divided by twenty
            minute.price_factor = 0.05

    return tweak


@dataclass(frozen=True)
class Scenario:
    database_url: str
    # 40 minutes into an hour: "this hour so far" holds 40 minutes.
    now: datetime


def scenario(proc: Any, name: str, with_incidents: bool) -> Iterator[Scenario]:
    with scratch_database(proc, name) as url:
        now = this_hour() - timedelta(minutes=60 - INCIDENT_MINUTES)
        traffic = weekly_history(now, rates=RATES)
        traffic.between(now - timedelta(hours=2), now, incidents(now) if with_incidents else None)
        load(Settings(database_url=url, use_local_cluster=False), traffic.events)
        yield Scenario(url, now)


@pytest.fixture(scope="module")
def normal(postgresql_proc: Any) -> Iterator[Scenario]:
    yield from scenario(postgresql_proc, "rules_normal", with_incidents=False)


@pytest.fixture(scope="module")
def incident(postgresql_proc: Any) -> Iterator[Scenario]:
    yield from scenario(postgresql_proc, "rules_incidents", with_incidents=True)


def detect_with(database_url: str, rules: list[str] | None, moments: list[datetime]) -> list[dict[str, Any]]:
    """The alerts after detector runs as of each moment, with only these rules enabled (None: all); rolled back."""

    async def run() -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            async with conn.transaction(force_rollback=True):
                if rules is not None:
                    await conn.execute(
                        "update analytics.alert_rules set enabled = rule = any(%s) where metric <> 'data_quality'",
                        (rules,),
                    )
                for moment in moments:
                    summary = await detect(conn, moment)
                    assert not summary.skipped
                cur = conn.cursor(row_factory=dict_row)
                return await (await cur.execute("select * from analytics.alerts order by id")).fetchall()

    return asyncio.run(run())


# Per rule: the subject it must fire on, and every destination whose incident may make it fire.
FIRES = {
    "bookings_drop": ("destination=Lisbon", {"Lisbon", "Rome"}),
    "revenue_drop": ("destination=Lisbon", {"Lisbon", "Rome", "Paris"}),
    "revenue_below_expected": ("destination=Lisbon", {"Lisbon", "Rome", "Paris"}),
    "no_bookings": ("destination=Lisbon", {"Lisbon"}),
    "conversion_drop": ("destination=Rome", {"Rome"}),
    "cancellations_spike": ("destination=Tokyo", {"Tokyo"}),
    "cancellation_spike": ("destination=Tokyo", {"Tokyo"}),
    "payment_failures_spike": ("destination=Oslo", {"Oslo"}),
    "payment_failure_spike": ("destination=Oslo", {"Oslo"}),
    "payment_shortfall": ("destination=Madrid", {"Madrid"}),
    "booking_value_outlier": ("destination=Paris booking_type=flight", {"Paris"}),
}


def test_every_rule_of_analytics_alert_rules_has_its_tests(incident: Scenario) -> None:
    with psycopg.connect(incident.database_url) as conn:
        rules = {row[0] for row in conn.execute("select rule from analytics.alert_rules").fetchall()}
    # data_quality fires on a failing check: tests/test_dq.py.
    assert rules == {*FIRES, "data_quality"}


@pytest.mark.parametrize("rule", sorted(FIRES))
def test_the_rule_fires_on_its_incident_and_nowhere_else(incident: Scenario, rule: str) -> None:
    subject, affected = FIRES[rule]
    fired = detect_with(incident.database_url, [rule], [incident.now])
    assert fired, f"{rule} did not fire"
    assert {a["rule"] for a in fired} == {rule}
    subjects = {a["subject"] for a in fired}
    assert subject in subjects, f"{rule} fired on {subjects}"
    places = {s.split()[0].removeprefix("destination=") for s in subjects if s.startswith("destination=")}
    assert places <= affected, f"{rule} fired where nothing happened: {places - affected}"
    assert all(a["status"] == "open" and a["opened_at"] == incident.now for a in fired)


@pytest.mark.parametrize("rule", sorted(FIRES))
def test_the_rule_stays_quiet_on_normal_traffic(normal: Scenario, rule: str) -> None:
    moments = [normal.now - timedelta(minutes=m) for m in (30, 20, 10, 0)]
    assert detect_with(normal.database_url, [rule], moments) == []


def test_each_incident_opens_its_alerts_with_their_figures(incident: Scenario) -> None:
    fired = {(a["kind"], a["subject"]): a for a in detect_with(incident.database_url, None, [incident.now])}
    kinds: dict[str, set[str]] = {}
    for kind, subject in fired:
        kinds.setdefault(subject, set()).add(kind)
    assert {"no_bookings", "bookings_drop", "revenue_drop"} <= kinds["destination=Lisbon"]
    assert "destination=Reykjavik" not in kinds, "a small destination paged someone"
    outage = fired[("no_bookings", "destination=Lisbon")]
    assert outage["severity"] == "critical" and outage["status"] == "open" and outage["rule"] == "no_bookings"
    assert outage["observed"] == 0 and outage["expected"] > 8 and outage["details"]["unit"] == "count"
    assert outage["details"]["window"] == "m10" and outage["details"]["z"] <= -5
    drop = fired[("bookings_drop", "destination=Lisbon")]
    assert drop["severity"] == "critical" and drop["details"]["window"] in ("partial_hour", "last_hour")
    revenue = fired[("revenue_drop", "destination=Lisbon")]
    assert revenue["details"]["unit"] == "USD" and revenue["observed"] == 0
    conversion = fired[("conversion_drop", "destination=Rome")]
    assert conversion["details"]["unit"] == "ratio" and conversion["observed"] < conversion["expected"] / 2
    failures = fired[("payment_failures_spike", "destination=Oslo")]
    assert failures["details"]["unit"] == "ratio" and float(failures["observed"]) == pytest.approx(0.7, abs=0.15)
    shortfall = fired[("payment_shortfall", "destination=Madrid")]
    assert float(shortfall["observed"]) == pytest.approx(0.2, abs=0.01) and shortfall["details"]["unit"] == "ratio"
    value = next(v for (k, s), v in fired.items() if k == "booking_value_outlier")
    assert value["details"]["unit"] == "USD" and value["observed"] < value["details"]["usual_low"]
    assert value["details"]["direction"] == "low"
    cancellations = fired[("cancellations_spike", "destination=Tokyo")]
    assert cancellations["observed"] > 5 * cancellations["expected"]
