"""Fixtures: a real PostgreSQL with TimescaleDB, started by the tests.

The cluster starts once per session; `alembic upgrade head` runs once into a
template database, and each test gets its own clone of it.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from pytest_postgresql import factories
from starlette.testclient import TestClient

from app.api import create_app
from app.settings import PROJECT_ROOT, Settings

TESTS = Path(__file__).parent


def url_for(host: str, port: int, user: str, dbname: str) -> str:
    return f"postgresql://{user}@{host}:{port}/{dbname}"


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def migrate_template(host: str, port: int, user: str, dbname: str, **_: object) -> None:
    command.upgrade(alembic_config(url_for(host, port, user, dbname)), "head")


postgresql_proc = factories.postgresql_proc(executable=str(TESTS / "pg_ctl"), load=[migrate_template])
postgresql = factories.postgresql("postgresql_proc")


@pytest.fixture
def database_url(postgresql: psycopg.Connection[Any]) -> str:
    info = postgresql.info
    return url_for(info.host, info.port, info.user, info.dbname)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection for arranging and checking data."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, use_local_cluster=False, poll_interval=0.2, shutdown_grace=5.0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    fatal: list[str] = []
    with TestClient(create_app(settings, on_fatal=lambda: fatal.append("fatal"))) as test_client:
        yield test_client
    assert not fatal, "a background task of the app died"


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    """Polls condition until it returns something truthy; fails after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pulse_process(args: list[str], database_url: str, **env: str) -> subprocess.Popen[bytes]:
    """Runs the pulse CLI as a real process against the test database."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "PULSE_DATABASE_URL": database_url, **env},
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=None,  # the process's own log shows up in pytest's captured output
    )


@contextlib.contextmanager
def running_server(database_url: str, **env: str) -> Iterator[str]:
    """A real `pulse serve` process; yields its base URL and checks it stops cleanly."""
    port = free_port()
    process = pulse_process(["serve", "--port", str(port)], database_url, **env)
    base = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert process.poll() is None, f"pulse serve exited with {process.returncode}"
        try:
            return httpx2.get(base + "/v1/status", timeout=1).status_code == 200
        except httpx2.HTTPError:
            return False

    try:
        wait_for(serving, timeout=30)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2") as base:
        yield base


# A second cluster without TimescaleDB preloaded: the plain PostgreSQL fallback.
plain_postgresql_proc = factories.postgresql_proc(
    executable=str(TESTS / "pg_ctl"), postgres_options="-c timezone=UTC", load=[migrate_template]
)
plain_postgresql = factories.postgresql("plain_postgresql_proc")
