"""Fixtures: a real PostgreSQL with TimescaleDB, started by the tests.

The cluster starts once per session; `alembic upgrade head` runs once into a
template database, and each test gets its own clone of it. Helpers live in
tests/support/.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from pytest_postgresql import factories
from starlette.testclient import TestClient

from app.api import create_app
from app.legacy.mariadb import MariaDB
from core.migrate import alembic_config
from core.settings import Settings
from tests.support.databases import url_for
from tests.support.processes import running_server

TESTS = Path(__file__).parent


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
    # Tokens are tested on their own (tests/test_auth.py); elsewhere the API is open. Forecast refreshes run
    # only where a test asks for them (tests/test_forecasts.py): each would fit models for seconds.
    return Settings(
        database_url=database_url,
        use_local_cluster=False,
        poll_interval=0.2,
        shutdown_grace=5.0,
        auth="off",
        forecast_interval=0,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    fatal: list[str] = []
    with TestClient(create_app(settings, on_fatal=lambda: fatal.append("fatal"))) as test_client:
        yield test_client
    assert not fatal, "a background task of the app died"


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2") as base:
        yield base


# A second cluster without TimescaleDB preloaded: the plain PostgreSQL fallback.
plain_postgresql_proc = factories.postgresql_proc(
    executable=str(TESTS / "pg_ctl"), postgres_options="-c timezone=UTC", load=[migrate_template]
)
plain_postgresql = factories.postgresql("plain_postgresql_proc")


# A third cluster, for tests that stop and start PostgreSQL under a running server.
restartable_postgresql_proc = factories.postgresql_proc(executable=str(TESTS / "pg_ctl"), load=[migrate_template])
restartable_postgresql = factories.postgresql("restartable_postgresql_proc")


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    """A real MariaDB (Debian's mariadb-server) in a temporary directory, run as an
    unprivileged user, once per session: the legacy MySQL of the switch-over tests."""
    with MariaDB() as server:
        yield server
