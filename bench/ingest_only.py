"""HTTP ingest alone, as bench/run_all.py measures it, for profiling and A/B runs.

A fresh pulse_bench database, the server (projection workers included, as in `pulse serve`), and
PULSE_BENCH_EVENTS booking.created (default 100,000) posted as NDJSON bodies of 500 by 4 clients;
the same-run baseline is a raw COPY of the same events into a fresh database of the same schema.
PULSE_BENCH_WORKERS=N runs N server processes (default 1); PULSE_SERVE_PROJECTIONS=false times the write
path alone (the server runs no projection workers, and nothing waits for them).
PULSE_BENCH_PYSPY=out.txt records the server with py-spy (if installed) in its raw format.
"""

import os
import signal
import subprocess
import sys
import time

from bench.harness import BENCH_PORT, admin_database_url, fresh_database, start_server, wait_until_caught_up
from bench.run_all import NO_JOBS, copy_baseline, http_events, http_ingest
from core.settings import Settings


def main() -> None:
    events = int(os.environ.get("PULSE_BENCH_EVENTS", "100000"))
    admin_url = admin_database_url()
    requests = http_events(events)
    copy_seconds = copy_baseline(admin_url, [row for rows in requests for row in rows])
    url = fresh_database(admin_url)
    server = start_server(url, BENCH_PORT, workers=int(os.environ.get("PULSE_BENCH_WORKERS", "1")), **NO_JOBS)
    spy = None
    try:
        if output := os.environ.get("PULSE_BENCH_PYSPY"):
            py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
            command = [py_spy, "record", "-r", "200", "-f", "raw", "-o", output, "--pid", str(server.pid)]
            spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        seconds = http_ingest(f"http://127.0.0.1:{BENCH_PORT}", requests)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        if Settings.from_env().serve_projections:
            wait_until_caught_up(f"http://127.0.0.1:{BENCH_PORT}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(
        f"http_ingest_events_per_s {events / seconds:.0f}  copy of the same events {events / copy_seconds:.0f}/s"
        f"  ratio {copy_seconds / seconds:.3f}"
    )


if __name__ == "__main__":
    main()
