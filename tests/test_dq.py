"""Data-quality checks (docs/alerts.md): each one fires on its problem and stays quiet on normal traffic.

Results land in analytics.dq_results, `pulse dq check` prints them and exits 1
on a failure, GET /v1/dq serves the latest run, and a failing check opens a
data_quality alert.
"""

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, LiteralString

import httpx2
import psycopg
import pytest
from psycopg.types.json import Jsonb
from starlette.testclient import TestClient

from app.dq import Result, run_checks
from core.settings import Settings
from projections import ALL_PROJECTIONS, SIGNALS
from tests.support.alerting import load, minute_now
from tests.support.databases import scratch_database
from tests.support.events import booking, make_event
from tests.support.pipeline import append, drain
from tests.support.processes import pulse, running_server, wait_for
from tests.support.traffic import Traffic, weekly_history

RATES = {"Lisbon": 2.0}


@dataclass(frozen=True)
class Normal:
    """Three weeks of the hours around now and the last two hours of steady traffic, every projection caught up."""

    settings: Settings
    now: datetime


@pytest.fixture(scope="module")
def normal(postgresql_proc: Any) -> Iterator[Normal]:
    with scratch_database(postgresql_proc, "dq_normal") as url:
        settings = Settings(database_url=url, use_local_cluster=False, auth="off")
        now = minute_now()
        traffic = weekly_history(now, weeks=3, rates=RATES)
        for k in (1, 2, 3):  # past weeks go on for longer: the hours after now are busy hours too
            traffic.between(now - timedelta(days=7 * k) + timedelta(hours=1), now - timedelta(days=7 * k, hours=-3))
        traffic.between(now - timedelta(hours=2), now + timedelta(minutes=1))
        load(settings, traffic.events, ALL_PROJECTIONS)
        yield Normal(settings, now)


def checks(
    database_url: str, now: datetime | None = None, setup: Sequence[LiteralString] = (), keep: bool = True
) -> tuple[dict[str, Result], list[dict[str, Any]]]:
    """One run of the checks as of now: the results by check, and the data_quality alerts afterwards.

    keep=False: in a transaction rolled back afterwards (with setup statements first), leaving the data as it was.
    """

    async def run() -> tuple[list[Result], list[Any]]:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            async with conn.transaction(force_rollback=not keep):
                for statement in setup:
                    await conn.execute(statement)
                results = await run_checks(conn, now)
                cur = conn.cursor(row_factory=psycopg.rows.dict_row)
                found = await (
                    await cur.execute("select * from analytics.alerts where kind = 'data_quality' order by id")
                ).fetchall()
            return results, found

    results, found = asyncio.run(run())
    return {r.check: r for r in results}, found


def failing(results: dict[str, Result]) -> set[str]:
    return {name for name, r in results.items() if r.status == "fail"}


def lag_checks() -> set[str]:
    return {f"projection_lag_{unit}:{p.name}" for p in ALL_PROJECTIONS for unit in ("events", "seconds")}


def store(settings: Settings, events: list[dict[str, Any]]) -> None:
    asyncio.run(append(settings.database_url, events))


def project(settings: Settings) -> None:
    asyncio.run(drain(settings, batch_size=5000))


# Quiet on normal traffic, and the data_quality rule with it.


def test_normal_traffic_passes_every_check_and_opens_no_alert(normal: Normal) -> None:
    results, found = checks(normal.settings.database_url, datetime.now(UTC), keep=False)
    expected = {
        "quarantine_rate",
        "duplicate_events",
        "orphan_events",
        "freshness:booking.created",
        "freshness:payment.captured",
        "freshness:search.performed",
        "oldest_transaction",
        "volume",
        "reconciliation",
        *lag_checks(),
    }
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(expected, "pass")
    assert results["quarantine_rate"].observed == 0 and results["quarantine_rate"].details["accepted"] > 20
    assert Decimal("0.8") < (results["volume"].observed or 0) < Decimal("1.25")
    assert (results["freshness:booking.created"].observed or 0) < 180
    assert found == [], "normal traffic opened a data_quality alert"


# Freshness: seconds since the last booking and search, while the same hour of past weeks had them.


def test_freshness_fails_when_bookings_and_searches_stop_in_a_usually_busy_hour(normal: Normal) -> None:
    later = datetime.now(UTC) + timedelta(minutes=40)
    results, _ = checks(normal.settings.database_url, later, keep=False)
    for kind in ("booking.created", "payment.captured", "search.performed"):
        stale = results[f"freshness:{kind}"]
        assert stale.status == "fail" and (stale.observed or 0) > 1800, kind
        assert stale.details["last"] is not None


def test_freshness_is_skipped_in_an_hour_that_is_quiet_every_week(normal: Normal) -> None:
    night = normal.now + timedelta(hours=6)  # the same hour of past weeks had no traffic at all
    results, _ = checks(normal.settings.database_url, night, keep=False)
    assert results["freshness:booking.created"].status == "skipped"
    assert results["freshness:search.performed"].status == "skipped"
    assert results["freshness:payment.captured"].status == "skipped"


# Volume: the last complete hour against the same hour of past weeks.


def test_volume_fails_when_traffic_stops(normal: Normal) -> None:
    # Two hours on, the last complete hour holds nothing where past weeks had traffic.
    results, _ = checks(normal.settings.database_url, normal.now + timedelta(hours=2), keep=False)
    assert results["volume"].status == "fail" and results["volume"].observed == 0
    assert results["volume"].details["expected_events"] > 100


def test_volume_fails_on_three_times_the_usual_traffic(settings: Settings) -> None:
    now = minute_now()
    hour = now.replace(minute=0)
    traffic = Traffic(origin=hour, rates=dict(RATES))
    for k in (1, 2, 3):  # an hour more than compared: weeks before the first complete hour are unknown
        traffic.between(hour - timedelta(days=7 * k, hours=2), hour - timedelta(days=7 * k))
    traffic.rates = {"Lisbon": 6.0}
    traffic.between(hour - timedelta(hours=1), hour)
    load(settings, traffic.events)
    results, _ = checks(settings.database_url, now)
    assert results["volume"].status == "fail" and 2.5 < (results["volume"].observed or 0) < 3.5


# Data-quality failures open alerts; alerts resolve once the check has passed for the rule's resolve_after_minutes.


def test_a_failing_check_opens_a_data_quality_alert_which_resolves_once_it_passes(normal: Normal) -> None:
    later = datetime.now(UTC) + timedelta(minutes=40)
    _, found = checks(normal.settings.database_url, later, keep=False)
    subjects = {a["subject"]: a for a in found}
    freshness = {f"check=freshness:{t}" for t in ("booking.created", "payment.captured", "search.performed")}
    assert freshness <= set(subjects)
    # Forty minutes on may be the next hour: its last complete hour then holds only the minutes of traffic
    # before now, and volume fails too, rightly. Nothing else may fail.
    next_hour = later.replace(minute=0, second=0, microsecond=0) > normal.now.replace(minute=0)
    assert set(subjects) - freshness <= ({"check=volume"} if next_hour else set())
    alert = subjects["check=freshness:booking.created"]
    assert (alert["status"], alert["severity"], alert["rule"]) == ("open", "warning", "data_quality")
    assert alert["observed"] > 1800 and alert["expected"] == 1800 and alert["details"]["unit"] == "seconds"


def test_a_data_quality_alert_is_refreshed_while_failing_and_resolved_after_passing_for_a_while(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    event = booking("Lisbon", currency="USD")
    store(settings, [event])
    bypass(db, event)  # the same event stored twice, by a writer that went around pulse.append_events
    now = datetime.now(UTC)
    results, found = checks(settings.database_url, now)
    assert failing(results) == {"duplicate_events"}
    ((alert),) = found
    assert (alert["subject"], alert["status"]) == ("check=duplicate_events", "open")
    _, found = checks(settings.database_url, now + timedelta(minutes=5))
    assert [(a["id"], a["status"]) for a in found] == [(alert["id"], "open")], "one alert while the check fails"
    db.execute("update analytics.dq_checks set threshold = 10 where \"check\" = 'duplicate_events'")
    _, found = checks(settings.database_url, now + timedelta(minutes=10))
    assert [a["status"] for a in found] == ["open"], "resolved before passing for resolve_after_minutes (15)"
    _, found = checks(settings.database_url, now + timedelta(minutes=21))
    assert [(a["id"], a["status"], a["resolved_by"]) for a in found] == [(alert["id"], "resolved", "detector")]


# Validity: the share of inputs quarantined.


def test_quarantine_rate_fails_when_many_inputs_are_quarantined(settings: Settings) -> None:
    invalid = [make_event("booking.created", total_amount="-5") for _ in range(5)]
    store(settings, [booking() for _ in range(20)] + invalid)
    results, _ = checks(settings.database_url)
    rate = results["quarantine_rate"]
    assert rate.status == "fail" and rate.observed == Decimal("0.2")
    assert rate.details == {"accepted": 20, "quarantined": 5}


def test_quarantine_rate_passes_a_few_bad_inputs_and_skips_too_few_inputs(settings: Settings) -> None:
    store(settings, [booking() for _ in range(10)] + [make_event("booking.created", total_amount="-5")] * 5)
    results, _ = checks(settings.database_url)
    assert results["quarantine_rate"].status == "skipped", "15 inputs say nothing of a rate"
    store(settings, [booking() for _ in range(90)])
    results, _ = checks(settings.database_url)
    rate = results["quarantine_rate"]
    assert rate.status == "pass" and rate.details == {"accepted": 100, "quarantined": 5}


# Uniqueness: an event id stored twice, a booking created twice.


def bypass(db: psycopg.Connection[Any], event: dict[str, Any], **data: Any) -> None:
    """Stores an event straight into pulse.events, as a writer that ignores the write contract would."""
    db.execute(
        "insert into pulse.events (event_id, type, occurred_at, data) values (%s, %s, %s, %s)",
        (event["event_id"], event["type"], event["occurred_at"], Jsonb({**event["data"], **data})),
    )


def test_duplicate_events_fail_on_an_event_stored_twice_and_a_booking_created_twice(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    first, second = booking("Lisbon"), booking("Paris")
    store(settings, [first, second])
    bypass(db, first)
    bypass(db, {**booking("Tokyo"), "data": {**booking("Tokyo")["data"], "booking_id": second["data"]["booking_id"]}})
    results, _ = checks(settings.database_url)
    assert results["duplicate_events"].status == "fail" and results["duplicate_events"].observed == 2


def test_duplicate_events_pass_when_senders_resend(settings: Settings) -> None:
    sent = [booking("Lisbon") for _ in range(5)]
    store(settings, sent)
    store(settings, sent)  # retried requests: each event is stored once
    results, _ = checks(settings.database_url)
    assert results["duplicate_events"].status == "pass" and results["duplicate_events"].observed == 0


# Referential integrity: modifications, cancellations and payments waiting for their booking.


def payment(booking_id: str) -> dict[str, Any]:
    return make_event("payment.captured", booking_id=booking_id, amount="10.00", currency="EUR")


def test_orphan_events_fail_when_a_payment_waits_for_its_booking_beyond_the_threshold(settings: Settings) -> None:
    store(settings, [payment("b-never"), make_event("booking.cancelled", booking_id="b-never-either")])
    asyncio.run(drain(settings, batch_size=100, projections=(SIGNALS,)))
    results, _ = checks(settings.database_url, datetime.now(UTC) + timedelta(minutes=61))
    orphans = results["orphan_events"]
    assert orphans.status == "fail" and orphans.observed == 2 and orphans.details["waiting_seconds"] == 3600


def test_orphan_events_pass_while_within_the_wait_or_once_the_booking_arrives(settings: Settings) -> None:
    late = booking("Lisbon")
    store(settings, [payment("b-soon"), payment(late["data"]["booking_id"])])
    asyncio.run(drain(settings, batch_size=100, projections=(SIGNALS,)))
    results, _ = checks(settings.database_url, datetime.now(UTC) + timedelta(minutes=30))
    assert results["orphan_events"].status == "pass", "waiting half an hour is within the threshold"
    store(settings, [late, {**booking("Paris"), "data": {**booking("Paris")["data"], "booking_id": "b-soon"}}])
    asyncio.run(drain(settings, batch_size=100, projections=(SIGNALS,)))
    results, _ = checks(settings.database_url, datetime.now(UTC) + timedelta(hours=2))
    assert results["orphan_events"].status == "pass" and results["orphan_events"].observed == 0


# Projection lag, in events and in seconds.


def test_projection_lag_in_events_fails_beyond_the_threshold_and_passes_once_applied(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    project(settings)  # the checkpoints exist, at the start of the log
    db.execute("update analytics.dq_checks set threshold = 5 where \"check\" = 'projection_lag_events'")
    store(settings, [booking() for _ in range(10)])
    results, _ = checks(settings.database_url)
    assert {name for name in failing(results) if "lag_events" in name} == {
        f"projection_lag_events:{p.name}" for p in ALL_PROJECTIONS
    }
    assert all(results[f"projection_lag_events:{p.name}"].observed == 6 for p in ALL_PROJECTIONS), "counted to 6"
    project(settings)
    results, _ = checks(settings.database_url)
    assert not failing(results) & lag_checks()


def test_projection_lag_in_seconds_fails_for_an_event_waiting_minutes(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    project(settings)
    # An event stored ten minutes ago that no projection has applied yet.
    event = booking("Lisbon")
    db.execute("insert into pulse.event_ids (event_id) values (%s)", (event["event_id"],))
    db.execute(
        "insert into pulse.booking_ids (booking_id, event_id) values (%s, %s)",
        (event["data"]["booking_id"], event["event_id"]),
    )
    db.execute(
        "insert into pulse.events (event_id, type, occurred_at, received_at, data) "
        "values (%s, 'booking.created', now() - interval '10 minutes', now() - interval '10 minutes', %s)",
        (event["event_id"], Jsonb(event["data"])),
    )
    results, _ = checks(settings.database_url)
    for projection in ALL_PROJECTIONS:
        lag = results[f"projection_lag_seconds:{projection.name}"]
        assert lag.status == "fail" and 600 <= (lag.observed or 0) < 700, projection.name
    project(settings)
    results, _ = checks(settings.database_url)
    assert not failing(results) & lag_checks()


# The oldest open transaction, which holds every projection back.


def test_oldest_transaction_fails_while_a_session_holds_a_transaction_open(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    db.execute("update analytics.dq_checks set threshold = 1 where \"check\" = 'oldest_transaction'")
    results, _ = checks(settings.database_url)
    assert results["oldest_transaction"].status == "pass"
    with psycopg.connect(settings.database_url) as forgotten:
        forgotten.execute("select 1")  # and then nothing: idle in transaction
        (pid,) = forgotten.execute("select pg_backend_pid()").fetchone() or (0,)
        held = wait_for(lambda: (r := checks(settings.database_url)[0]["oldest_transaction"]).status == "fail" and r)
        assert held.details["pid"] == pid and (held.observed or 0) > 1
    results, _ = checks(settings.database_url)
    assert results["oldest_transaction"].status == "pass"


# Reconciliation: a rollup that differs from a recompute from the events.


def test_reconciliation_fails_when_a_rollup_drifts_from_the_events(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    store(settings, [booking("Lisbon", currency="USD") for _ in range(3)])
    project(settings)
    results, _ = checks(settings.database_url)
    assert results["reconciliation"].status == "pass" and results["reconciliation"].observed == 0
    db.execute("update pulse_signals.minutely set bookings = bookings + 1 where destination = 'Lisbon'")
    results, _ = checks(settings.database_url)
    assert results["reconciliation"].status == "fail" and (results["reconciliation"].observed or 0) >= 1


# pulse dq check (a real process), analytics.dq_results and GET /v1/dq.


def test_pulse_dq_check_prints_a_table_and_exits_non_zero_on_a_failure_and_the_api_serves_the_latest(
    settings: Settings, db: psycopg.Connection[Any], client: TestClient
) -> None:
    stored = [booking("Lisbon") for _ in range(3)]
    store(settings, stored)
    passing = pulse(settings.database_url, "dq", "check")
    assert passing.returncode == 0, passing.stderr
    lines = passing.stdout.splitlines()
    assert lines[0].split() == ["check", "status", "observed", "threshold"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:-1]}
    assert rows["duplicate_events"] == ["pass", "0", "0"]
    assert rows["freshness:booking.created"][0] == "skipped"
    assert lines[-1] == "dq: every check passes"

    bypass(db, stored[0])  # stored twice, by a writer that went around pulse.append_events
    failed = pulse(settings.database_url, "dq", "check", "--no-reconcile")
    assert failed.returncode == 1
    rows = {line.split()[0]: line.split()[1:] for line in failed.stdout.splitlines()[1:]}
    assert rows["duplicate_events"][0] == "FAIL" and "reconciliation" not in rows
    assert "dq: 1 failing: duplicate_events" in failed.stderr

    runs = db.execute(
        "select run_at, count(*), count(*) filter (where status = 'fail') from analytics.dq_results "
        "group by run_at order by run_at"
    ).fetchall()
    assert len(runs) == 2 and runs[0][2] == 0 and runs[1][2] == 1
    latest = client.get("/v1/dq")
    assert latest.status_code == 200
    body = latest.json()
    assert datetime.fromisoformat(body["run_at"]) == runs[1][0] and body["failing"] == 1
    served = {c["check"]: c for c in body["checks"]}
    assert len(served) == runs[1][1]
    assert served["duplicate_events"]["status"] == "fail" and served["duplicate_events"]["observed"] == "1"
    assert served["freshness:booking.created"] == {
        "check": "freshness:booking.created",
        "status": "skipped",
        "observed": None,
        "threshold": "1800",
        "details": served["freshness:booking.created"]["details"],
    }
    alert = db.execute("select subject, status from analytics.alerts where kind = 'data_quality'").fetchall()
    assert alert == [("check=duplicate_events", "open")]


def test_the_server_runs_the_checks_and_the_detector_on_its_schedule(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with running_server(database_url, PULSE_DQ_INTERVAL="0.3", PULSE_DETECTOR_INTERVAL="0.3") as base:
        event = booking("Lisbon", currency="USD")
        assert httpx2.post(base + "/v1/events", json=[event], timeout=10).status_code == 200
        wait_for(
            lambda: db.execute("select count(distinct run_at) >= 2 from analytics.dq_results").fetchone() == (True,)
        )
        bypass(db, event)
        served = wait_for(lambda: (body := httpx2.get(base + "/v1/dq", timeout=5).json())["failing"] and body)
        assert [c["check"] for c in served["checks"] if c["status"] == "fail"] == ["duplicate_events"]
        wait_for(lambda: db.execute("select subject from analytics.alerts").fetchall() == [("check=duplicate_events",)])
        metrics = httpx2.get(base + "/metrics", timeout=5).text
        assert 'pulse_alerts_open{severity="warning"} 1.0' in metrics
        assert "pulse_detector_seconds_count 0.0" not in metrics
