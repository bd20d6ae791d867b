"""What every benchmark needs: a fresh migrated database and a real server."""

import os
import subprocess
import sys
import time

import httpx2
import psycopg
from psycopg import sql

from app.cli import wait_until_serving
from app.localdb import LocalCluster
from core.migrate import migrate
from core.settings import Settings


def fresh_database(name: str = "pulse_bench") -> str:
    """A new, migrated database of that name on the local cluster (or PULSE_BENCH_DATABASE_URL's server)."""
    admin_url = os.environ.get("PULSE_BENCH_DATABASE_URL")
    if admin_url is None:
        settings = Settings.from_env()
        LocalCluster(settings.home).start()
        admin_url = settings.database_url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    migrate(Settings(database_url=url, use_local_cluster=False))
    return url


def wait_until_caught_up(base: str) -> None:
    while any(p.get("lag") != 0 for p in httpx2.get(base + "/v1/status", timeout=10).json()["projections"].values()):
        time.sleep(0.2)


def start_server(url: str, port: int, workers: int = 1, **env: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        # Open API: the figures measure ingest and the stream, not token checks.
        env={**os.environ, "PULSE_DATABASE_URL": url, "PULSE_AUTH": "off", **env},
        stderr=subprocess.DEVNULL,
    )
    if not wait_until_serving(f"http://127.0.0.1:{port}", process):
        raise SystemExit("server did not start")
    return process
