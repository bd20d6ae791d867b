"""Alert webhooks against a real receiver on loopback, from a real `pulse serve` (docs/alerts.md, "Delivery")."""

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx2
import psycopg
from psycopg.rows import dict_row

from tests.support.alerting import alert_changes, open_alert, set_alert
from tests.support.events import booking
from tests.support.processes import free_port, pulse_process, running_server, wait_for
from tests.support.webhooks import Receiver, documented_verify

SECRET = "a shared secret"
BACKOFF = 0.2
# Short retries; no detector or data-quality runs of the server's own.
WEBHOOK_ENV = {
    "PULSE_ALERT_WEBHOOK_SECRET": SECRET,
    "PULSE_ALERT_WEBHOOK_BACKOFF": str(BACKOFF),
    "PULSE_ALERT_WEBHOOK_TIMEOUT": "1",
    "PULSE_JOB_POLL_INTERVAL": "0.05",
    "PULSE_DETECTOR_INTERVAL": "0",
    "PULSE_DQ_INTERVAL": "0",
    "PULSE_POLL_INTERVAL": "0.2",
}


@contextlib.contextmanager
def webhook_server(database_url: str, receiver: Receiver, **env: str) -> Iterator[str]:
    """pulse serve delivering to the receiver, with short retries; no detector or checks of its own."""
    settings = {**WEBHOOK_ENV, "PULSE_ALERT_WEBHOOKS": receiver.url}
    with running_server(database_url, 1, **{**settings, **env}) as base:
        yield base


def attempts(db: psycopg.Connection[Any], change_seq: int | None = None) -> list[dict[str, Any]]:
    """pulse.webhook_attempts, oldest first (of one change, or all)."""
    cur = db.cursor(row_factory=dict_row)
    return cur.execute(
        "select * from pulse.webhook_attempts where %(seq)s::bigint is null or change_seq = %(seq)s "
        "order by change_seq, attempt",
        {"seq": change_seq},
    ).fetchall()


def jobs(db: psycopg.Connection[Any]) -> list[str]:
    """The status of each delivery job in the queue."""
    return [row[0] for row in db.execute("select status from procrastinate.procrastinate_jobs order by id").fetchall()]


def epoch(moment: datetime) -> float:
    return moment.timestamp()


def test_new_escalated_and_resolved_alerts_are_posted_as_json_signed_as_the_docs_say(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    verify = documented_verify()
    with Receiver() as receiver, webhook_server(database_url, receiver):
        alert_id = open_alert(db, severity="warning")
        set_alert(db, alert_id, severity="critical")
        set_alert(db, alert_id, status="acknowledged", acknowledged_by="ana")
        set_alert(db, alert_id, status="resolved", resolved_by="ana")
        changes = alert_changes(db)
        assert [change for _, _, change in changes] == ["opened", "escalated", "acknowledged", "resolved"]
        wait_for(lambda: len(attempts(db)) == 3 and all(a["status_code"] == 200 for a in attempts(db)))
        # Everything is handed over: the acknowledgement stays on the stream and in the table.
        wait_for(lambda: db.execute("select seq from pulse.webhook_cursor").fetchone() == (changes[-1][0],))
        wait_for(lambda: jobs(db) == ["succeeded"] * 3)
    deliveries = receiver.deliveries()
    assert len(deliveries) == 3, "a change was delivered twice, or the acknowledgement was delivered"
    bodies = {}
    for delivery in deliveries:
        assert verify(SECRET.encode(), delivery.headers, delivery.body), "the documented check refused a signature"
        assert not verify(b"another secret", delivery.headers, delivery.body)
        assert not verify(SECRET.encode(), delivery.headers, delivery.body.replace(b'"open"', b'"ok"') + b" ")
        assert delivery.headers["Content-Type"] == "application/json"
        assert delivery.headers["X-Pulse-Attempt"] == "1"
        body = json.loads(delivery.body)
        assert delivery.headers["X-Pulse-Delivery"] == str(body["delivery"])
        bodies[body["change"]] = body
    seqs = {change: seq for seq, _, change in changes}
    assert {change: body["delivery"] for change, body in bodies.items()} == {
        change: seqs[change] for change in ("opened", "escalated", "resolved")
    }
    opened, escalated, resolved = bodies["opened"]["alert"], bodies["escalated"]["alert"], bodies["resolved"]["alert"]
    assert opened["id"] == alert_id and opened["kind"] == "revenue_drop" and opened["subject"] == "destination=Lisbon"
    assert (opened["status"], opened["severity"], opened["details"]["unit"]) == ("open", "warning", "count")
    assert (opened["observed"], opened["expected"], opened["resolved_at"]) == ("12", "40", None)
    assert escalated["severity"] == "critical" and escalated["status"] == "open"
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert datetime.fromisoformat(bodies["opened"]["sent_at"]).tzinfo is not None
    recorded = attempts(db)
    assert [(a["change_seq"], a["attempt"], a["status_code"], a["error"]) for a in recorded] == [
        (seqs[change], 1, 200, None) for change in ("opened", "escalated", "resolved")
    ]


def test_failures_are_retried_with_backoff_and_every_attempt_is_recorded(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with Receiver() as receiver, webhook_server(database_url, receiver):
        # A server error, an unavailable one, then no answer within the timeout (1 s), then success.
        receiver.answer(500, 503, ("hang", 2.0))
        open_alert(db)
        (seq, _, _) = alert_changes(db)[0]
        recorded = wait_for(lambda: (rows := attempts(db, seq)) and rows[-1]["status_code"] == 200 and rows, 30)
    assert [(a["attempt"], a["status_code"]) for a in recorded] == [(1, 500), (2, 503), (3, None), (4, 200)]
    assert recorded[0]["error"] == "answered 500" and recorded[1]["error"] == "answered 503"
    assert "Timeout" in recorded[2]["error"] and recorded[2]["duration_ms"] >= 1000
    assert recorded[3]["error"] is None
    assert len({a["job_id"] for a in recorded}) == 1, "a retry is the same job, not a new one"
    deliveries = receiver.deliveries()
    assert [d.headers["X-Pulse-Attempt"] for d in deliveries] == ["1", "2", "3", "4"]
    assert len({d.body for d in deliveries}) == 1 and {d.headers["X-Pulse-Delivery"] for d in deliveries} == {str(seq)}
    # Attempt n+1 comes at least backoff x 2^(n-1) after attempt n was over: 0.2, 0.4, 0.8 s.
    for n in (1, 2, 3):
        waited = deliveries[n].at - epoch(recorded[n - 1]["at"])
        assert waited >= BACKOFF * 2 ** (n - 1) - 0.02, f"attempt {n + 1} came {waited:.2f}s after attempt {n}"


def test_a_receiver_restarted_in_the_middle_of_a_retry_gets_the_alert_once_back_and_projections_never_wait(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    receiver = Receiver()
    receiver.start()
    receiver.answer(500, 500)  # what gets through before it goes down answers 500
    try:
        with webhook_server(database_url, receiver, PULSE_ALERT_WEBHOOK_ATTEMPTS="12") as base:
            open_alert(db)
            (seq, _, _) = alert_changes(db)[0]
            wait_for(lambda: attempts(db, seq))
            receiver.stop()
            receiver.plan.clear()
            refused = wait_for(lambda: [a for a in attempts(db, seq) if a["status_code"] is None])
            assert "ConnectError" in refused[0]["error"]

            # While every delivery fails, events keep being projected.
            posted = httpx2.post(base + "/v1/events", json=[booking("Lisbon", currency="USD")], timeout=10)
            assert posted.status_code == 200
            position = posted.json()["position"]
            caught_up = httpx2.get(base + "/v1/metrics/kpis", params={"after": position}, timeout=15)
            assert caught_up.status_code == 200 and caught_up.json()["metrics"]["bookings"]["value"] == 1
            status = httpx2.get(base + "/v1/status", timeout=10).json()
            assert all(p["lag"] == 0 for p in status["projections"].values())
            assert attempts(db, seq)[-1]["status_code"] is None, "the receiver was down all along"

            receiver.start()
            recorded = wait_for(lambda: (rows := attempts(db, seq)) and rows[-1]["status_code"] == 200 and rows, 30)
    finally:
        receiver.stop()
    codes = [a["status_code"] for a in recorded]
    answered = codes.index(None)
    assert set(codes[:answered]) == {500} and set(codes[answered:-1]) == {None} and codes[-1] == 200
    assert [a["attempt"] for a in recorded] == list(range(1, len(recorded) + 1))
    delivered = [d for d in receiver.deliveries() if d.headers["X-Pulse-Attempt"] == str(len(recorded))]
    assert len(delivered) == 1 and json.loads(delivered[0].body)["delivery"] == seq
    assert len(receiver.deliveries()) == answered + 1, "the receiver got something while it was down"


def test_a_pulse_server_restarted_in_the_middle_of_a_retry_loses_nothing(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with Receiver() as receiver:
        receiver.answer(500)
        with webhook_server(database_url, receiver, PULSE_ALERT_WEBHOOK_BACKOFF="3"):
            open_alert(db)
            (seq, _, _) = alert_changes(db)[0]
            wait_for(lambda: attempts(db, seq))
        # Stopped while the retry waits in the queue (3 s); a new server picks it up.
        assert [a["status_code"] for a in attempts(db, seq)] == [500]
        with webhook_server(database_url, receiver, PULSE_ALERT_WEBHOOK_BACKOFF="3"):
            recorded = wait_for(lambda: (rows := attempts(db, seq)) and rows[-1]["status_code"] == 200 and rows, 30)
            wait_for(lambda: jobs(db) == ["succeeded"])
    assert [(a["attempt"], a["status_code"]) for a in recorded] == [(1, 500), (2, 200)]
    assert [d.headers["X-Pulse-Attempt"] for d in receiver.deliveries()] == ["1", "2"], "queued again on restart"


def test_a_delivery_cut_short_by_a_server_crash_is_retried_by_the_next_server(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with Receiver() as receiver:
        receiver.answer(("hang", 8.0))
        port = free_port()
        env = {**WEBHOOK_ENV, "PULSE_ALERT_WEBHOOKS": receiver.url, "PULSE_ALERT_WEBHOOK_TIMEOUT": "30"}
        crashing = pulse_process(
            ["serve", "--port", str(port), "--workers", "1"], database_url, PULSE_AUTH="off", **env
        )
        try:
            wait_for(lambda: crashing.poll() is None and up(f"http://127.0.0.1:{port}"), timeout=30)
            open_alert(db)
            (seq, _, _) = alert_changes(db)[0]
            wait_for(receiver.deliveries)  # the first attempt is under way...
        finally:
            crashing.kill()  # ...when the server dies
            crashing.wait()
        assert attempts(db) == [], "an attempt cut short is never recorded"
        assert jobs(db) == ["doing"]
        # A minute on, the dead server's queue worker has missed its heartbeats.
        db.execute("update procrastinate.procrastinate_workers set last_heartbeat = now() - interval '2 minutes'")
        with webhook_server(database_url, receiver):
            recorded = wait_for(lambda: (rows := attempts(db, seq)) and rows[-1]["status_code"] == 200 and rows, 30)
            wait_for(lambda: jobs(db) == ["succeeded"])
    assert [(a["attempt"], a["status_code"]) for a in recorded] == [(2, 200)]
    deliveries = receiver.deliveries()
    assert [d.headers["X-Pulse-Attempt"] for d in deliveries] == ["1", "2"] and deliveries[0].body == deliveries[1].body


def up(base: str) -> bool:
    try:
        return httpx2.get(base + "/healthz", timeout=1).status_code == 200
    except httpx2.HTTPError:
        return False
