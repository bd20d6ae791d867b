"""A database that restarts or runs out of connections: 503 with Retry-After, nothing lost, and back by itself."""

import threading
import time
from typing import Any

import httpx2
import psycopg

from tests.support.databases import url_for
from tests.support.events import booking
from tests.support.processes import running_server, wait_for
from tests.support.sse import open_stream, until


def post(base: str, event: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(base + "/v1/events", json=event, timeout=30)


def test_while_postgresql_restarts_requests_get_503_and_the_stream_carries_on(
    restartable_postgresql_proc: Any, restartable_postgresql: psycopg.Connection[Any]
) -> None:
    info = restartable_postgresql.info
    database_url = url_for(info.host, info.port, info.user, info.dbname)
    restartable_postgresql.close()
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2", PULSE_STREAM_POLL_INTERVAL="0.5") as base:
        assert post(base, booking("Lisbon", currency="USD")).status_code == 200
        with open_stream(base, topics="kpis", patience=60) as messages:
            until(messages, lambda m: m.data["metrics"]["bookings"]["value"] == 1)
            restartable_postgresql_proc.stop()
            during = post(base, booking("Tokyo", currency="USD"))
            assert during.status_code == 503, during.text
            assert int(during.headers["retry-after"]) > 0
            assert "not available" in during.json()["error"]
            assert httpx2.get(base + "/v1/metrics/kpis", timeout=30).status_code == 503
            restartable_postgresql_proc.start()

            # A client that retries after Retry-After gets its event stored once.
            retried = booking("Tokyo", currency="USD")
            response = post(base, retried)
            while response.status_code == 503:
                time.sleep(float(response.headers["retry-after"]) / 10)
                response = post(base, retried)
            assert response.status_code == 200 and response.json()["accepted"] == 1
            # The same stream, never reconnected, shows it once the projections and the listener are back.
            until(messages, lambda m: m.data["metrics"]["bookings"]["value"] == 2)


def test_with_every_connection_busy_requests_get_503_then_succeed(database_url: str) -> None:
    with running_server(database_url, PULSE_POOL_MAX_SIZE="1", PULSE_POOL_TIMEOUT="0.5") as base:
        blocked: list[httpx2.Response] = []
        with psycopg.connect(database_url) as locker:
            # The one pooled connection gets stuck behind this lock inside its append.
            locker.execute("lock table pulse.event_ids in access exclusive mode")
            first = threading.Thread(target=lambda: blocked.append(post(base, booking("Lisbon"))))
            first.start()
            wait_for(
                lambda: (
                    locker.execute(
                        "select count(*) from pg_locks where not granted and relation = 'pulse.event_ids'::regclass"
                    ).fetchone()
                    == (1,)
                )
            )
            refused = post(base, booking("Tokyo"))
            assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
        first.join(timeout=30)
        assert blocked and blocked[0].status_code == 200
        assert post(base, booking("Tokyo")).status_code == 200
