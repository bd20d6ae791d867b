"""What `pulse` says when the database is missing or behind: a sentence and an exit code, not a traceback."""

import logging
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from app.cli import main


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """main() points the root logger at this test's captured stderr, which is closed once the test ends."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_database_without_the_schema_asks_for_pulse_migrate(
    db: psycopg.Connection[Any], database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As a database left at an old revision looks to this version.
    db.execute("drop table analytics.dq_checks cascade")
    db.commit()
    monkeypatch.setenv("PULSE_DATABASE_URL", database_url)
    assert main(["dq", "check"]) == 2
    err = capsys.readouterr().err
    assert 'relation "analytics.dq_checks" does not exist' in err and "run `pulse migrate` first" in err
    assert "Traceback" not in err


def test_an_unreachable_database_is_a_temporary_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", "postgresql://pulse@127.0.0.1:1/pulse?connect_timeout=2")
    assert main(["dq", "check"]) == 75
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the database") and "Traceback" not in err
