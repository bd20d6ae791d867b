"""GET /v1/stream against a real `pulse serve` process."""

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import psycopg

from tests.support.events import booking
from tests.support.pipeline import append_in
from tests.support.processes import running_server


def sse_messages(lines: Iterator[str], patience: float = 20.0) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) of each message; comments such as pings are skipped.

    Fails when no message comes for patience seconds: pings alone keep the
    connection, and a read timeout, from ever firing.
    """
    kind, data = "message", ""
    since = time.monotonic()
    for line in lines:
        assert time.monotonic() - since < patience, f"no stream message for {patience}s"
        if line.startswith("event:"):
            kind = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data += line.partition(":")[2].strip()
        elif line == "" and data:
            yield kind, json.loads(data)
            kind, data = "message", ""
            since = time.monotonic()


def test_a_client_gets_the_current_values_then_an_update_after_an_insert(server: str) -> None:
    first = booking("Lisbon", amount="100.00")
    assert httpx2.post(server + "/v1/events", json=first).status_code == 200

    with httpx2.stream("GET", server + "/v1/stream", timeout=httpx2.Timeout(5, read=20)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        messages = sse_messages(response.iter_lines())

        kind, snapshot = next(messages)
        # The first booking may still be in flight: wait until a message shows it.
        while not any(row["destination"] == "Lisbon" for row in snapshot["rows"]):
            kind, snapshot = next(messages)

        second = booking("Reykjavik", amount="250.50", currency="ISK")
        posted_at = time.monotonic()
        assert httpx2.post(server + "/v1/events", json=second).status_code == 200
        kind, update = next(messages)
        # Batches of the other projections may resend rows the client has; updates are idempotent.
        while kind == "update" and not any(row["destination"] == "Reykjavik" for row in update["rows"]):
            kind, update = next(messages)
        delay = time.monotonic() - posted_at

    assert kind == "update"
    changed = [(r["destination"], r["bookings"], r["gross_revenue"]) for r in update["rows"]]
    assert ("Reykjavik", 1, 250.5) in changed
    assert {row[0] for row in changed} <= {"Lisbon", "Reykjavik"}
    assert delay < 10, f"update arrived {delay:.2f}s after the POST"


def test_the_stream_catches_up_on_batches_it_was_not_told_about(server: str, database_url: str) -> None:
    with httpx2.stream("GET", server + "/v1/stream", timeout=httpx2.Timeout(5, read=20)) as response:
        messages = sse_messages(response.iter_lines())
        kind, _ = next(messages)
        assert kind == "snapshot"
        # Events written by another process: no in-process wake-up, so the
        # worker's poll and then the stream's notification must carry it.
        append_from_elsewhere(database_url, booking("Oslo", currency="NOK"))
        kind, update = next(messages)
    assert kind == "update"
    assert [row["destination"] for row in update["rows"]] == ["Oslo"]


def append_from_elsewhere(database_url: str, event: dict[str, Any]) -> None:
    """Appends an event as a writer other than the API would: through the write contract, unseen by the server."""
    with psycopg.connect(database_url) as conn:
        append_in(conn, event)


def test_the_stream_survives_losing_its_listen_connection(server: str, database_url: str) -> None:
    with httpx2.stream("GET", server + "/v1/stream", timeout=httpx2.Timeout(5, read=20)) as response:
        messages = sse_messages(response.iter_lines())
        assert next(messages)[0] == "snapshot"
        with psycopg.connect(database_url, autocommit=True) as admin:
            killed = admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pulse-listener'"
            ).fetchall()
        assert killed == [(True,)]
        append_from_elsewhere(database_url, booking("Bergen", currency="NOK"))
        kind, update = next(messages)
    assert kind == "update"
    assert [row["destination"] for row in update["rows"]] == ["Bergen"]


def test_idle_streams_get_heartbeats(database_url: str) -> None:
    with (
        running_server(database_url, PULSE_SSE_PING_SECONDS="1") as base,
        httpx2.stream("GET", base + "/v1/stream", timeout=httpx2.Timeout(5, read=10)) as response,
    ):
        comments = (line for line in response.iter_lines() if line.startswith(":"))
        assert next(comments).startswith(": ping")
