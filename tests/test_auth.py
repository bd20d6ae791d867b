"""API tokens over real HTTP: scopes, revocation, dashboard tickets, the rate limit."""

import hashlib
import hmac
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import psycopg
import pytest

from tests.support.events import booking
from tests.support.processes import create_token, pulse, running_server, wait_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def secured(database_url: str) -> Iterator[str]:
    with running_server(database_url, PULSE_AUTH="tokens") as base:
        yield base


def test_each_endpoint_wants_a_token_with_its_scope(secured: str, database_url: str) -> None:
    ingest, reader, admin = (create_token(database_url, s) for s in ("ingest", "read", "admin"))
    event = booking("Lisbon")

    anonymous = httpx2.post(secured + "/v1/events", json=event, timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    garbled = httpx2.post(secured + "/v1/events", json=event, headers=bearer("hunter2"), timeout=10)
    assert garbled.status_code == 401
    forged = ingest[:-4] + "AAAA"
    assert httpx2.post(secured + "/v1/events", json=event, headers=bearer(forged), timeout=10).status_code == 401
    wrong_scope = httpx2.post(secured + "/v1/events", json=event, headers=bearer(reader), timeout=10)
    assert wrong_scope.status_code == 403 and "not ingest" in wrong_scope.json()["error"]
    assert httpx2.post(secured + "/v1/events", json=event, headers=bearer(ingest), timeout=10).status_code == 200

    for path in ("/v1/metrics/kpis", "/v1/metrics/dimensions", "/v1/status", "/v1/stream?topics=kpis", "/v1/forecast"):
        assert httpx2.get(secured + path, timeout=10).status_code == 401, path
        assert httpx2.get(secured + path, headers=bearer(ingest), timeout=10).status_code == 403, path
    assert httpx2.get(secured + "/v1/metrics/kpis", headers=bearer(reader), timeout=10).status_code == 200
    assert httpx2.get(secured + "/v1/status", headers=bearer(admin), timeout=10).status_code == 200
    # Let through, to say there is no forecast yet.
    assert httpx2.get(secured + "/v1/forecast", headers=bearer(reader), timeout=10).status_code == 404
    with httpx2.stream("GET", secured + "/v1/stream", headers=bearer(reader), timeout=10) as stream:
        assert stream.status_code == 200
    # What holds no business data stays open.
    for path in ("/v1/schema", "/v1/openapi.json", "/"):
        assert httpx2.get(secured + path, timeout=10).status_code in (200, 404), path


def test_a_revoked_token_is_refused_within_seconds(secured: str, database_url: str) -> None:
    reader = create_token(database_url, "read")
    assert httpx2.get(secured + "/v1/metrics/kpis", headers=bearer(reader), timeout=10).status_code == 200
    listed = pulse(database_url, "token", "list")
    # The secret may hold "_" itself (URL-safe base64): split off the prefix and the id only.
    secret = reader.split("_", 2)[2]
    assert "read" in listed.stdout and reader not in listed.stdout and secret not in listed.stdout
    token_id = str(uuid.UUID(reader.split("_")[1]))
    done = pulse(database_url, "token", "revoke", token_id[:8])
    assert done.returncode == 0, done.stderr
    assert "revoked" in pulse(database_url, "token", "list").stdout
    wait_for(
        lambda: httpx2.get(secured + "/v1/metrics/kpis", headers=bearer(reader), timeout=10).status_code == 401,
        timeout=15,
    )
    assert pulse(database_url, "token", "create", "--scope", "everything").returncode == 2


def ticket_for(database_url: str, token: str, expires: float) -> str:
    """A ticket cookie signed with the server's key, expiring at a chosen time."""
    import base64

    with psycopg.connect(database_url) as conn:
        row = conn.execute("select key from pulse.ticket_key").fetchone()
    assert row is not None
    payload = uuid.UUID(token.split("_")[1]).bytes + struct.pack(">Q", int(expires))
    signature = hmac.new(bytes(row[0]), payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(payload + signature).decode().rstrip("=")


def test_a_browser_swaps_its_token_for_a_ticket(secured: str, database_url: str) -> None:
    reader = create_token(database_url, "read")
    with httpx2.Client(base_url=secured, timeout=10) as browser:
        opened = browser.get("/", params={"token": reader, "destination": "Lisbon"})
        assert opened.status_code == 303
        assert opened.headers["location"] == "/?destination=Lisbon", "the token must leave the address bar"
        cookie = opened.headers["set-cookie"]
        assert "pulse_ticket=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        # The cookie alone now opens the stream and the snapshots (EventSource sends no headers).
        with browser.stream("GET", "/v1/stream", params={"topics": "kpis"}) as stream:
            assert stream.status_code == 200
        assert browser.get("/v1/metrics/kpis").status_code == 200
    assert httpx2.get(secured + "/", params={"token": "pulse_nonsense"}, timeout=10).status_code == 401

    expired = ticket_for(database_url, reader, time.time() - 1)
    assert httpx2.get(secured + "/v1/metrics/kpis", cookies={"pulse_ticket": expired}, timeout=10).status_code == 401
    tampered = ticket_for(database_url, reader, time.time() + 3600)[:-3] + "AAA"
    assert httpx2.get(secured + "/v1/metrics/kpis", cookies={"pulse_ticket": tampered}, timeout=10).status_code == 401
    valid = ticket_for(database_url, reader, time.time() + 3600)
    assert httpx2.get(secured + "/v1/metrics/kpis", cookies={"pulse_ticket": valid}, timeout=10).status_code == 200
    pulse(database_url, "token", "revoke", str(uuid.UUID(reader.split("_")[1])))
    wait_for(
        lambda: (
            httpx2.get(secured + "/v1/metrics/kpis", cookies={"pulse_ticket": valid}, timeout=10).status_code == 401
        ),
        timeout=15,
    )


def test_a_token_past_its_rate_limit_gets_429_with_retry_after(database_url: str) -> None:
    with running_server(database_url, PULSE_AUTH="tokens", PULSE_RATE_LIMIT_PER_SECOND="1") as base:
        reader = create_token(database_url, "read")
        answers: list[Any] = [
            httpx2.get(base + "/v1/metrics/funnel", headers=bearer(reader), timeout=10) for _ in range(4)
        ]
        limited = [a for a in answers if a.status_code == 429]
        assert limited and int(limited[0].headers["retry-after"]) >= 1
        assert answers[0].status_code == 200
