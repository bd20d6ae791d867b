"""Real processes: the pulse CLI and `pulse serve`, and waiting for conditions."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2

from core.settings import PROJECT_ROOT


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


def pulse(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs a pulse command to completion against the test database; its output is captured."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "PULSE_DATABASE_URL": database_url, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def create_token(database_url: str, scopes: str) -> str:
    """A new API token with these scopes (pulse token create), as its holder gets it."""
    done = pulse(database_url, "token", "create", "--scope", scopes, "--name", f"test {scopes}")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("pulse_")
    return token


def pulse_process(args: list[str], database_url: str, **env: str) -> subprocess.Popen[bytes]:
    """Starts the pulse CLI as a real process against the test database."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "PULSE_DATABASE_URL": database_url, **env},
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=None,  # the process's own log shows up in pytest's captured output
    )


@contextlib.contextmanager
def running_server(database_url: str, workers: int = 1, **env: str) -> Iterator[str]:
    """A real `pulse serve` process; yields its base URL and checks it stops cleanly."""
    port = free_port()
    # Tokens are tested on their own; elsewhere the API is open unless the caller sets PULSE_AUTH. Forecast
    # refreshes (a subprocess fitting models) run only when the caller sets PULSE_FORECAST_INTERVAL.
    env = {"PULSE_AUTH": "off", "PULSE_FORECAST_INTERVAL": "0", **env}
    process = pulse_process(["serve", "--port", str(port), "--workers", str(workers)], database_url, **env)
    base = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert process.poll() is None, f"pulse serve exited with {process.returncode}"
        try:
            return httpx2.get(base + "/healthz", timeout=1).status_code == 200
        except httpx2.HTTPError:
            return False

    try:
        wait_for(serving, timeout=30)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
