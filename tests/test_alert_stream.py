"""The stream's alerts topic over real HTTP (docs/stream.md, docs/alerts.md): in order, never conflated, resumable."""

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import psycopg

from tests.support.alerting import alert_changes, open_alert, set_alert
from tests.support.events import booking
from tests.support.processes import running_server
from tests.support.sse import Message, open_stream, until


@contextlib.contextmanager
def quiet_server(database_url: str) -> Iterator[str]:
    """A server whose alerts come only from the test: no detector or data-quality runs of its own."""
    with running_server(
        database_url, PULSE_POLL_INTERVAL="0.2", PULSE_DETECTOR_INTERVAL="0", PULSE_DQ_INTERVAL="0"
    ) as base:
        yield base


def alert_seq(message: Message) -> int:
    """The ;a<seq> part of a message id."""
    position, _, seq = message.id.partition(";a")
    assert position and seq.isdigit(), f"an alerts client's id is <position>;a<seq>, got {message.id!r}"
    return int(seq)


def take(messages: Iterator[Message], count: int, event: str = "alert") -> list[Message]:
    """The next count messages of one event type (others, such as metric updates, are skipped)."""
    taken: list[Message] = []
    while len(taken) < count:
        message = next(messages)
        if message.event == event:
            taken.append(message)
    return taken


def changes_as_sent(db: psycopg.Connection[Any], after: int = 0) -> list[tuple[int, str, str]]:
    """(id, status, severity) of each alert change after a seq, as the stream must send them."""
    rows = db.execute(
        "select alert_id, alert->>'status', alert->>'severity' from pulse.alert_changes where seq > %s order by seq",
        (after,),
    ).fetchall()
    return [(int(a), status, severity) for a, status, severity in rows]


def as_received(messages: list[Message]) -> list[tuple[int, str, str]]:
    return [(m.data["id"], m.data["status"], m.data["severity"]) for m in messages]


def post_booking(base: str) -> None:
    response = httpx2.post(base + "/v1/events", json=[booking("Lisbon", currency="USD")], timeout=10)
    assert response.status_code == 200, response.text


def test_every_alert_change_arrives_in_order_beside_the_metric_topics_and_only_for_alert_subscribers(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with (
        quiet_server(database_url) as base,
        open_stream(base, topics="kpis,alerts") as messages,
        open_stream(base, topics="kpis") as metrics_only,
    ):
        first = next(messages)
        assert first.event == "kpis" and alert_seq(first) == 0, "no alert yet: nothing but the kpis"
        assert ";" not in next(metrics_only).id

        # Six changes in quick succession: each one is sent, none is folded into another.
        a = open_alert(db, "revenue_drop", "destination=Lisbon", "warning")
        set_alert(db, a, severity="critical")
        b = open_alert(db, "no_bookings", "destination=Paris", "critical")
        set_alert(db, a, status="acknowledged", acknowledged_by="ana")
        set_alert(db, b, status="resolved", resolved_by="detector")
        set_alert(db, a, status="resolved", resolved_by="ana")
        sent = take(messages, 6)
        assert (
            as_received(sent)
            == changes_as_sent(db)
            == [
                (a, "open", "warning"),
                (a, "open", "critical"),
                (b, "open", "critical"),
                (a, "acknowledged", "critical"),
                (b, "resolved", "critical"),
                (a, "resolved", "critical"),
            ]
        )
        assert [alert_seq(m) for m in sent] == [seq for seq, _, _ in alert_changes(db)]
        assert sent[0].data["kind"] == "revenue_drop" and sent[0].data["details"] == {"unit": "count"}

        # The metric topics carry on alongside, their ids saying which alert change came last.
        post_booking(base)
        kpis = until(messages, lambda m: m.data["metrics"]["bookings"]["value"] == 1, "kpis")
        assert alert_seq(kpis) == alert_seq(sent[-1])
        # A client without the alerts topic saw the same booking, and no alert at all.
        seen = []
        for message in metrics_only:
            seen.append(message)
            if message.event == "kpis" and message.data["metrics"]["bookings"]["value"] == 1:
                break
        assert {m.event for m in seen} == {"kpis"} and all(";" not in m.id for m in seen)


def test_a_fresh_connection_gets_the_current_alerts_first(database_url: str, db: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    long_resolved = open_alert(db, "bookings_drop", "all", at=now - timedelta(days=3))
    set_alert(db, long_resolved, status="resolved", resolved_at=now - timedelta(days=2))
    recently_resolved = open_alert(db, "revenue_drop", "all", at=now - timedelta(hours=3))
    open_one = open_alert(db, "no_bookings", "destination=Lisbon", "critical")
    acknowledged = open_alert(db, "cancellations_spike", "destination=Tokyo")
    set_alert(db, acknowledged, status="acknowledged")
    set_alert(db, recently_resolved, status="resolved")
    set_alert(db, open_one, severity="critical")  # no change people see: not a second message
    with quiet_server(database_url) as base, open_stream(base, topics="kpis,alerts") as messages:
        first = [next(messages) for _ in range(4)]
        assert [m.event for m in first] == ["alert", "alert", "alert", "kpis"], "the alerts come first"
        assert as_received(first[:3]) == [
            (open_one, "open", "critical"),
            (acknowledged, "acknowledged", "warning"),
            (recently_resolved, "resolved", "warning"),
        ]
        last_seq = alert_changes(db)[-1][0]
        assert alert_seq(first[2]) == alert_seq(first[3]) == last_seq
        # Then each change as it happens.
        set_alert(db, open_one, status="acknowledged")
        (change,) = take(messages, 1)
        assert as_received([change]) == [(open_one, "acknowledged", "critical")]
        assert alert_seq(change) == alert_changes(db)[-1][0]


def test_reconnecting_with_last_event_id_misses_no_alert_change_and_repeats_none(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    a = open_alert(db, "revenue_drop", "destination=Lisbon")
    b = open_alert(db, "no_bookings", "destination=Paris", "critical")
    with quiet_server(database_url) as base:
        with open_stream(base, topics="alerts,kpis") as messages:
            snapshot = take(messages, 2)
            kpis = take(messages, 1, "kpis")[0]
            set_alert(db, a, severity="critical")
            live = take(messages, 1)[0]
        assert as_received([*snapshot, live]) == [
            (a, "open", "warning"),
            (b, "open", "critical"),
            (a, "open", "critical"),
        ]

        # Gone for a while: more changes, among them a new alert, an escalation, an acknowledgement, a resolution.
        before = alert_changes(db)[-1][0]
        c = open_alert(db, "cancellations_spike", "destination=Tokyo")
        set_alert(db, c, severity="critical")
        set_alert(db, b, status="acknowledged")
        set_alert(db, a, status="resolved")
        missed = changes_as_sent(db, after=before)
        assert len(missed) == 4
        with open_stream(base, last_event_id=live.id, topics="alerts,kpis") as messages:
            resumed = take(messages, 4)
            assert as_received(resumed) == missed
            after = next(messages)
            assert after.event == "kpis", f"a change was sent twice or one too many: {after}"
            post_booking(base)
            until(messages, lambda m: m.data["metrics"]["bookings"]["value"] == 1, "kpis")

        # Resuming from a metric message's id, or from the middle of a first connection's alerts, works the same.
        with open_stream(base, last_event_id=kpis.id, topics="alerts") as messages:
            assert as_received(take(messages, 5)) == changes_as_sent(db, after=alert_seq(kpis))
        with open_stream(base, last_event_id=snapshot[0].id, topics="alerts") as messages:
            assert as_received(take(messages, 6)) == changes_as_sent(db, after=alert_seq(snapshot[0]))
