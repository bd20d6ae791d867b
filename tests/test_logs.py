"""Logs a machine can read: one JSON line per request with its id, status and latency."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2

from core.settings import PROJECT_ROOT
from tests.support.processes import free_port, wait_for


def test_each_request_is_one_json_line_with_its_id(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "server.log"
    with log_file.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
            env={**os.environ, "PULSE_DATABASE_URL": database_url, "PULSE_AUTH": "off", "PULSE_LOG_FORMAT": "json"},
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx2.get(base + "/healthz", timeout=1).status_code == 200
            except httpx2.HTTPError:
                return False

        wait_for(up, timeout=30)
        mine = httpx2.get(base + "/v1/metrics/funnel", headers={"X-Request-ID": "dash-42"}, timeout=10)
        assert mine.headers["x-request-id"] == "dash-42"
        theirs = httpx2.get(base + "/v1/metrics/nothing", headers={"X-Request-ID": "bad id <script>"}, timeout=10)
        generated = theirs.headers["x-request-id"]
        assert len(generated) == 32 and generated != "bad id"

        def logged() -> list[dict[str, object]]:
            lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
            return [line for line in lines if line.get("logger") == "pulse.requests"]

        requests = wait_for(lambda: len(logged()) >= 3 and logged())
        by_id = {line["request_id"]: line for line in requests}
        assert by_id["dash-42"]["status"] == 200 and by_id["dash-42"]["path"] == "/v1/metrics/funnel"
        assert by_id[generated]["status"] == 404
        assert isinstance(by_id["dash-42"]["latency_ms"], float)
        # Everything else the server says is JSON too.
        assert all(line.startswith("{") for line in log_file.read_text().splitlines() if line.strip())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
