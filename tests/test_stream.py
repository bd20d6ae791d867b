"""GET /v1/stream against a real `pulse serve` process, as dashboards use it."""

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import psycopg

from app.metrics import Filters
from app.stream import Broadcaster
from core.db import make_pool
from core.log import LogPosition
from core.settings import Settings
from tests.support.events import booking
from tests.support.pipeline import append_in, drain
from tests.support.processes import running_server, wait_for
from tests.support.sse import Message, open_stream, until


def bookings_today(message: Message) -> Any:
    return message.data["metrics"]["bookings"]["value"]


def post(base: str, *events: dict[str, Any]) -> LogPosition:
    response = httpx2.post(base + "/v1/events", json=list(events), timeout=10)
    assert response.status_code == 200, response.text
    return LogPosition.parse(response.json()["position"])


def append_from_elsewhere(database_url: str, event: dict[str, Any]) -> LogPosition:
    """Appends an event as a writer other than the API would: through the write contract, unseen by the server."""
    with psycopg.connect(database_url) as conn:
        return append_in(conn, event)


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def test_a_client_gets_only_its_topics_and_filters_then_each_change(server: str) -> None:
    post(server, booking("Lisbon", amount="100.00", currency="USD"))
    with open_stream(server, topics="kpis,top_destinations", destination="Lisbon") as messages:
        first, second = next(messages), next(messages)
        assert (first.event, second.event) == ("kpis", "top_destinations")
        assert first.id == first.data["position"] and first.data["filters"]["destination"] == "Lisbon"
        if bookings_today(first) != 1:  # the booking may still have been in flight
            until(messages, lambda m: bookings_today(m) == 1, "kpis")

        written = post(server, booking("Lisbon", amount="50.00", currency="USD"), booking("Tokyo", currency="USD"))
        seen = until(messages, lambda m: bookings_today(m) == 2, "kpis")
        # The message that shows the write is consistent with a position at or after it.
        assert LogPosition.parse(seen.id) >= written
        assert seen.data["metrics"]["revenue"]["value"] == "150.00"
        top = until(messages, lambda m: m.data["rows"] and m.data["rows"][0]["bookings"] == 2, "top_destinations")
        assert [row["destination"] for row in top.data["rows"]] == ["Lisbon"]
        # Nothing of another topic, nothing of Tokyo.
        assert {m.event for m in (first, second, seen, top)} == {"kpis", "top_destinations"}


def test_bad_topics_and_parameters_are_refused_naming_the_valid_ones(server: str) -> None:
    wrong_topic = httpx2.get(server + "/v1/stream", params={"topics": "kpis,weather"}, timeout=5)
    assert wrong_topic.status_code == 400
    assert "weather" in wrong_topic.json()["error"] and "top_destinations" in wrong_topic.json()["error"]
    wrong_parameter = httpx2.get(server + "/v1/stream", params={"region": "EU"}, timeout=5)
    assert wrong_parameter.status_code == 400 and "booking_type" in wrong_parameter.json()["error"]
    wrong_id = httpx2.get(server + "/v1/stream", headers={"Last-Event-ID": "yesterday"}, timeout=5)
    assert wrong_id.status_code == 400 and "Last-Event-ID" in wrong_id.json()["error"]


def test_a_client_resumes_after_a_server_restart_and_misses_nothing(database_url: str) -> None:
    late_hour = this_hour() - timedelta(hours=5)
    untouched_hour = this_hour() - timedelta(hours=7)
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2") as base:
        post(base, booking("Lisbon", currency="USD", occurred_at=untouched_hour + timedelta(minutes=5)))
        with open_stream(base, topics="hourly") as messages:
            last = until(messages, lambda m: sum(p["bookings"] for p in m.data["points"]) == 1)
    # While no server runs, a late booking and one for now are written.
    append_from_elsewhere(database_url, booking("Lisbon", currency="USD", occurred_at=late_hour + timedelta(minutes=1)))
    append_from_elsewhere(database_url, booking("Tokyo", currency="USD"))
    with (
        running_server(database_url, PULSE_POLL_INTERVAL="0.2") as base,
        open_stream(base, last_event_id=last.id, topics="hourly") as messages,
    ):
        restated: set[str] = set()

        def shows_all(message: Message) -> bool:
            restated.update(message.data["restated"])
            total: int = sum(p["bookings"] for p in message.data["points"])
            return total == 3

        resumed = until(messages, shows_all)
    by_hour = {p["hour"]: p["bookings"] for p in resumed.data["points"]}
    assert by_hour[iso(late_hour)] == 1 and by_hour[iso(untouched_hour)] == 1
    assert iso(late_hour) in restated, "the late booking's hour was not marked as restated"
    assert iso(untouched_hour) not in restated
    assert LogPosition.parse(resumed.id) > LogPosition.parse(last.id)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_snapshots_position_hands_off_to_the_stream(server: str, database_url: str) -> None:
    written = post(server, booking("Lisbon", currency="USD"))
    snapshot = httpx2.get(server + "/v1/metrics/hourly", params={"after": str(written)}, timeout=15)
    assert snapshot.status_code == 200
    position = snapshot.json()["position"]
    late_hour = this_hour() - timedelta(hours=3)
    append_from_elsewhere(database_url, booking("Lisbon", currency="USD", occurred_at=late_hour))
    restated: set[str] = set()
    with open_stream(server, last_event_id=position, topics="hourly") as messages:

        def shows_it(message: Message) -> bool:
            restated.update(message.data["restated"])
            bookings: dict[str, int] = {p["hour"]: p["bookings"] for p in message.data["points"]}
            return bookings[iso(late_hour)] == 1

        until(messages, shows_it)
    assert restated == {iso(late_hour)}


def slow_reader(base: str) -> socket.socket:
    """A client that opens the stream and then reads nothing, with a tiny receive buffer."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((host, int(port)))
    sock.sendall(f"GET /v1/stream?topics=hourly,kpis HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


def test_a_stalled_client_never_holds_back_the_others(server: str) -> None:
    stalled = slow_reader(server)
    try:
        with open_stream(server, topics="kpis") as messages:
            until(messages, lambda m: True)
            for n in range(1, 41):
                post(server, booking(f"Place {n % 7}", currency="USD"))
            started = time.monotonic()
            until(messages, lambda m: bookings_today(m) == 40)
            assert time.monotonic() - started < 10
    finally:
        stalled.close()


def test_a_slow_client_holds_only_the_latest_state_of_each_topic(settings: Settings, database_url: str) -> None:
    """Conflation: whatever happens while a client does not read, it holds one message per topic."""

    async def scenario() -> None:
        async with make_pool(database_url, max_size=2, role=settings.role("dashboard")) as pool:
            broadcaster = Broadcaster(pool, settings)
            slow = await broadcaster.subscribe(frozenset({"kpis", "hourly"}), Filters(), None)
            fast = await broadcaster.subscribe(frozenset({"kpis", "hourly"}), Filters(), None)
            received = fast.take()
            hours = [this_hour() - timedelta(hours=h) for h in (2, 5, 9)]
            for n, hour in enumerate(hours * 4):
                append_from_elsewhere(database_url, booking("Lisbon", currency="USD", occurred_at=hour))
                await drain(settings, batch_size=100)
                await broadcaster.publish()
                received += fast.take()
                assert len(slow.pending) <= 2, f"after {n + 1} changes the slow client holds {len(slow.pending)}"
            held = slow.take()
            assert [m.topic for m in held] == ["kpis", "hourly"]
            # The latest state, the same the fast client got last...
            assert held[0].json == [m for m in received if m.topic == "kpis"][-1].json
            assert sum(p["bookings"] for p in held[1].data["points"]) == 12
            # ...with every past hour that changed while it was not reading marked.
            assert held[1].data["restated"] == sorted(hours)
            assert len([m for m in received if m.topic == "hourly"]) == 1 + 12, "the fast client missed updates"

    asyncio.run(scenario())


def test_disconnected_clients_are_forgotten_at_once_and_the_limit_holds(database_url: str) -> None:
    with running_server(database_url, PULSE_STREAM_MAX_CLIENTS="3") as base:

        def clients() -> int:
            count: int = httpx2.get(base + "/v1/status", timeout=5).json()["stream"]["clients"]
            return count

        with open_stream(base) as one, open_stream(base) as two, open_stream(base) as three:
            for messages in (one, two, three):
                next(messages)
            assert clients() == 3
            refused = httpx2.get(base + "/v1/stream", timeout=5)
            assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
        wait_for(lambda: clients() == 0, timeout=10)
        with open_stream(base) as again:
            assert next(again).event == "kpis"


def test_the_stream_survives_losing_its_listen_connection(server: str, database_url: str) -> None:
    with open_stream(server, topics="kpis") as messages:
        assert bookings_today(next(messages)) == 0
        with psycopg.connect(database_url, autocommit=True) as admin:
            killed = admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pulse-listener'"
            ).fetchall()
        assert killed == [(True,)]
        append_from_elsewhere(database_url, booking("Bergen", currency="NOK"))
        assert bookings_today(until(messages, lambda m: bookings_today(m) == 1)) == 1


def test_idle_streams_get_heartbeats(database_url: str) -> None:
    with (
        running_server(database_url, PULSE_SSE_PING_SECONDS="1") as base,
        httpx2.stream("GET", base + "/v1/stream", timeout=httpx2.Timeout(5, read=10)) as response,
    ):
        assert response.headers["x-accel-buffering"] == "no"
        comments = (line for line in response.iter_lines() if line.startswith(":"))
        assert next(comments).startswith(": ping")


def test_only_configured_origins_may_read_from_elsewhere(database_url: str) -> None:
    with running_server(database_url, PULSE_CORS_ORIGINS="https://wall.example.com") as base:
        allowed = httpx2.get(base + "/v1/metrics/kpis", headers={"Origin": "https://wall.example.com"}, timeout=5)
        assert allowed.headers["access-control-allow-origin"] == "https://wall.example.com"
        other = httpx2.get(base + "/v1/metrics/kpis", headers={"Origin": "https://evil.example.com"}, timeout=5)
        assert "access-control-allow-origin" not in other.headers


def test_several_server_processes_each_listen_once_and_serve_their_own_clients(database_url: str) -> None:
    with running_server(database_url, workers=2, PULSE_POLL_INTERVAL="0.2") as base:
        with psycopg.connect(database_url, autocommit=True) as admin:
            listeners = "select count(*) from pg_stat_activity where application_name = 'pulse-listener'"
            wait_for(lambda: admin.execute(listeners).fetchone() == (2,))
        streams = [open_stream(base, topics="kpis") for _ in range(6)]
        clients = [stream.__enter__() for stream in streams]
        try:
            for messages in clients:
                next(messages)
            post(base, booking("Lisbon", currency="USD"))
            for messages in clients:
                until(messages, lambda m: bookings_today(m) == 1)
        finally:
            for stream in streams:
                stream.__exit__(None, None, None)


def test_odd_requests_get_400s_and_head_requests_leave_nothing_behind(database_url: str) -> None:
    with running_server(database_url, PULSE_STREAM_MAX_CLIENTS="2") as base:
        for _ in range(5):
            assert httpx2.head(base + "/v1/stream", timeout=5).status_code == 200
        assert httpx2.get(base + "/v1/status", timeout=5).json()["stream"]["clients"] == 0
        with open_stream(base, topics="kpis") as messages:
            assert next(messages).event == "kpis"
        odd: tuple[tuple[dict[str, Any], dict[str, str]], ...] = (
            ({"Last-Event-ID": "1/1;a\u00b2".encode()}, {}),
            ({"Last-Event-ID": "1/" + "9" * 30}, {}),
            ({}, {"destination": "Lis\x00bon"}),
        )
        for headers, params in odd:
            answer = httpx2.get(base + "/v1/stream", headers=headers, params=params, timeout=5)
            assert answer.status_code == 400, (headers, params, answer.text)
        for params in (
            {"destination": "\x00"},
            {"from": "0001-01-01T00:00:00+01:00"},
            {"to": "9999-12-31T23:00:00-05:00"},
        ):
            answer = httpx2.get(base + "/v1/metrics/hourly", params=params, timeout=5)
            assert answer.status_code == 400, (params, answer.text)
