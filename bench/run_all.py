"""Benchmarks: ingest, projection catch-up and POST-to-SSE delay, each with a same-run baseline.

Runs against a fresh database `pulse_bench` on the local cluster (or on
PULSE_BENCH_DATABASE_URL's server), prints the figures, and writes them to
bench/results/latest.json. Size with PULSE_BENCH_EVENTS (default 1,000,000).
"""

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import psycopg

from app.cli import migrate, wait_until_serving
from app.db import make_pool
from app.localdb import LocalCluster
from app.settings import PROJECT_ROOT, Settings
from projections import BOOKINGS
from projections.worker import ProjectionWorker

EVENTS = int(os.environ.get("PULSE_BENCH_EVENTS", "1000000"))
RESULTS = PROJECT_ROOT / "bench" / "results" / "latest.json"
DESTINATIONS = ["Lisbon", "Tokyo", "Cancun", "Paris", "London", "New York", "Cape Town", "Reykjavik"]


def fresh_database() -> str:
    admin_url = os.environ.get("PULSE_BENCH_DATABASE_URL")
    if admin_url is None:
        settings = Settings.from_env()
        LocalCluster(settings.home).start()
        admin_url = settings.database_url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("drop database if exists pulse_bench with (force)")
        conn.execute("create database pulse_bench")
    url = admin_url.rsplit("/", 1)[0] + "/pulse_bench"
    migrate(Settings(database_url=url, use_local_cluster=False))
    return url


def event_rows(count: int) -> list[tuple[Any, ...]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        kind = "booking.created" if i % 3 else "search.performed"
        data: dict[str, Any] = {"destination": DESTINATIONS[i % len(DESTINATIONS)], "session_id": f"s{i}"}
        if kind == "booking.created":
            data |= {
                "booking_id": f"b{i}",
                "customer_id": f"c{i % 5000}",
                "booking_type": ["flight", "hotel", "package"][i % 3],
                "total_amount": f"{(i * 7919) % 3000}.{i % 100:02d}",
                "currency": ["EUR", "USD", "GBP"][i % 3],
            }
        rows.append((uuid.uuid4(), kind, start + timedelta(seconds=i * 29), json.dumps(data)))
    return rows


def copy_events(url: str, rows: list[tuple[Any, ...]]) -> float:
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("copy pulse.event_ids (event_id) from stdin") as copy:
            for row in rows:
                copy.write_row((row[0],))
        with cur.copy("copy pulse.events (event_id, type, occurred_at, data) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
    return time.perf_counter() - started


async def catch_up(url: str) -> float:
    async with make_pool(url, max_size=2) as pool:
        worker = ProjectionWorker(pool, BOOKINGS, Settings(database_url=url, batch_size=20000))
        await worker.ensure_checkpoint()
        started = time.perf_counter()
        while (await worker.run_batch()).events:
            pass
        return time.perf_counter() - started


RECOMPUTE = """
create temp table recompute as
select date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
       data->>'destination' as destination, data->>'booking_type' as booking_type, data->>'currency' as currency,
       count(*) as bookings, sum((data->>'total_amount')::numeric) as gross_revenue
from pulse.events where type = 'booking.created' group by 1, 2, 3, 4
"""


def recompute(url: str) -> float:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute(RECOMPUTE)
        return time.perf_counter() - started


def http_ingest(base: str, count: int, per_request: int = 500, clients: int = 4) -> float:
    async def run() -> float:
        start = datetime.now(UTC) - timedelta(hours=1)
        bodies = []
        for r in range(count // per_request):
            lines = []
            for i in range(per_request):
                lines.append(
                    json.dumps(
                        {
                            "event_id": str(uuid.uuid4()),
                            "type": "booking.created",
                            "occurred_at": (start + timedelta(milliseconds=r * per_request + i)).isoformat(),
                            "data": {
                                "booking_id": f"h{r}-{i}",
                                "customer_id": "c1",
                                "destination": DESTINATIONS[i % 8],
                                "booking_type": "flight",
                                "total_amount": "199.99",
                                "currency": "EUR",
                            },
                        }
                    )
                )
            bodies.append("\n".join(lines))
        queue: asyncio.Queue[str] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def client() -> None:
            async with httpx2.AsyncClient(timeout=60) as http:
                while not queue.empty():
                    body = queue.get_nowait()
                    response = await http.post(
                        base + "/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"}
                    )
                    assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - started

    return asyncio.run(run())


def sse_delays(base: str, samples: int = 20) -> list[float]:
    delays = []
    with httpx2.stream("GET", base + "/v1/stream", timeout=httpx2.Timeout(10, read=30)) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("event: snapshot"):
                break
        for n in range(samples):
            event = {
                "event_id": str(uuid.uuid4()),
                "type": "booking.created",
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": {
                    "booking_id": f"l{n}",
                    "customer_id": "c",
                    "destination": f"Latency {n}",
                    "booking_type": "flight",
                    "total_amount": "1",
                    "currency": "EUR",
                },
            }
            posted = time.perf_counter()
            httpx2.post(base + "/v1/events", json=event, timeout=10)
            for line in lines:
                if line.startswith("data:") and f"Latency {n}" in line:
                    delays.append(time.perf_counter() - posted)
                    break
    return delays


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, "PULSE_DATABASE_URL": url},
        stderr=subprocess.DEVNULL,
    )
    if not wait_until_serving(f"http://127.0.0.1:{port}", process):
        raise SystemExit("server did not start")
    return process


def main() -> None:
    url = fresh_database()
    rows = event_rows(EVENTS)
    copy_seconds = copy_events(url, rows)
    catch_up_seconds = asyncio.run(catch_up(url))
    recompute_seconds = recompute(url)

    port = 8765
    server = start_server(url, port)
    try:
        http_events = min(EVENTS, 100000)
        http_seconds = http_ingest(f"http://127.0.0.1:{port}", http_events)
        delays = sse_delays(f"http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    figures = {
        "events": EVENTS,
        "copy_events_per_s": round(EVENTS / copy_seconds),
        "projection_catch_up_events_per_s": round(EVENTS / catch_up_seconds),
        "recompute_insert_select_events_per_s": round(EVENTS / recompute_seconds),
        "projection_vs_recompute_ratio": round(recompute_seconds / catch_up_seconds, 3),
        "http_ingest_events": http_events,
        "http_ingest_events_per_s": round(http_events / http_seconds),
        "http_ingest_vs_copy_ratio": round(copy_seconds / EVENTS * http_events / http_seconds, 3),
        "post_to_sse_ms_p50": round(statistics.median(delays) * 1000, 1),
        "post_to_sse_ms_max": round(max(delays) * 1000, 1),
    }
    for name, value in figures.items():
        print(f"{name:40} {value}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"measured_at": datetime.now(UTC).isoformat(), **figures}, indent=2) + "\n")
    print(f"written to {Path(RESULTS).relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
