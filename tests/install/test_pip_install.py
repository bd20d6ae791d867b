"""Deploying without the checkout: `pip install .` into a fresh virtualenv, then migrate and serve from elsewhere.

Run with `make test-install` (CI runs it; `make test` does not, as it installs
every dependency again).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from alembic import command

from core.migrate import alembic_config
from core.settings import PROJECT_ROOT
from tests.support.events import booking
from tests.support.processes import free_port, wait_for

pytestmark = pytest.mark.install


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


def test_an_installed_copy_migrates_and_serves_from_any_directory(
    database_url: str, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    # An empty database, as a new deployment starts with.
    command.downgrade(alembic_config(database_url), "base")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    run([str(venv / "bin" / "pip"), "install", "--quiet", str(PROJECT_ROOT)], tmp_path)
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    pulse = str(venv / "bin" / "pulse")
    # Nothing of the checkout on the path: the SQL and the migrations come from the installed package.
    env = {"PULSE_DATABASE_URL": database_url, "PYTHONPATH": "", "PULSE_AUTH": "tokens"}
    migrated = run([pulse, "migrate"], elsewhere, **env)
    assert "migrated" in migrated.stdout
    installed = run([str(venv / "bin" / "python"), "-c", "import core.sql; print(core.sql.SQL_ROOT)"], elsewhere)
    assert str(venv) in installed.stdout
    token = run([pulse, "token", "create", "--scope", "ingest,read"], elsewhere, **env).stdout.splitlines()[-1]

    port = free_port()
    server = subprocess.Popen(
        [pulse, "serve", "--port", str(port), "--workers", "1"],
        cwd=elsewhere,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx2.get(base + "/healthz", timeout=1).status_code == 200
            except httpx2.HTTPError:
                return False

        wait_for(up, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        posted = httpx2.post(base + "/v1/events", json=booking("Lisbon", currency="USD"), headers=headers, timeout=10)
        assert posted.status_code == 200, posted.text
        position = posted.json()["position"]
        kpis = httpx2.get(base + "/v1/metrics/kpis", params={"after": position}, headers=headers, timeout=15)
        assert kpis.json()["metrics"]["bookings"]["value"] == 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_alembic_upgrade_head_works_from_a_checkout(database_url: str, db: psycopg.Connection[Any]) -> None:
    # An empty database, as a new deployment starts with.
    command.downgrade(alembic_config(database_url), "base")
    alembic = str(Path(sys.executable).with_name("alembic"))
    run([alembic, "upgrade", "head"], PROJECT_ROOT, PULSE_DATABASE_URL=database_url)
    assert db.execute("select version_num from alembic_version").fetchone() not in (None, ())
    assert db.execute("select to_regprocedure('pulse.append_events(uuid[],text[],timestamptz[],jsonb[])')").fetchone()
