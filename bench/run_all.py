"""Benchmarks, each with a same-run baseline: projection catch-up against a plain
recompute, an analyst's query on the views against the raw events, HTTP ingest
against COPY (with the server's projection workers running, and without them),
and the POST-to-SSE delay.

Runs against a fresh database `pulse_bench` on the local cluster (or on
PULSE_BENCH_DATABASE_URL's server), prints the figures, and writes them to
bench/results/latest.json. Size with PULSE_BENCH_EVENTS (default 1,000,000).
"""

import asyncio
import json
import os
import random
import signal
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench import stream
from bench.harness import (
    BENCH_PORT,
    admin_database_url,
    drop_database,
    fresh_database,
    start_server,
    wait_until_caught_up,
)
from core.db import make_pool
from core.settings import PROJECT_ROOT, Settings
from core.sql import parse_named
from projections import ALL_PROJECTIONS, Projection
from projections.worker import ProjectionWorker

EVENTS = int(os.environ.get("PULSE_BENCH_EVENTS", "1000000"))
RESULTS = PROJECT_ROOT / "bench" / "results" / "latest.json"
QUERIES = Path(__file__).with_name("queries.sql")
BATCH_SIZE = 5000  # PULSE_BATCH_SIZE's default; batches grow on a backlog as in pulse work
DESTINATIONS = ["Lisbon", "Tokyo", "Cancun", "Paris", "London", "New York", "Cape Town", "Reykjavik"]


# A server without the scheduled jobs (data-quality checks, forecast refresh): what a figure measures
# shares the 2 cores with nothing else.
NO_JOBS = {"PULSE_DQ_INTERVAL": "0", "PULSE_FORECAST_INTERVAL": "0"}


def event_rows(count: int, seed: int = 11) -> list[tuple[Any, ...]]:
    """Booking journeys over 400 days: searches, checkouts, bookings, payments, modifications, cancellations."""
    rng = random.Random(seed)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    span = timedelta(days=400).total_seconds()
    rows: list[tuple[Any, ...]] = []

    def add(kind: str, at: datetime, data: dict[str, Any]) -> None:
        rows.append((uuid.uuid4(), kind, at, json.dumps(data)))

    n = 0
    while len(rows) < count:
        n += 1
        at = start + timedelta(seconds=rng.random() * span)
        destination = DESTINATIONS[n % len(DESTINATIONS)]
        customer = f"c{rng.randrange(count // 20)}"
        add("search.performed", at, {"session_id": f"s{n}", "destination": destination, "customer_id": customer})
        if rng.random() < 0.5:
            continue
        booking_type = ["flight", "hotel", "package", "car"][n % 4]
        add(
            "checkout.started",
            at + timedelta(minutes=3),
            {"session_id": f"s{n}", "destination": destination, "booking_type": booking_type, "customer_id": customer},
        )
        if rng.random() < 0.4:
            continue
        currency = ["EUR", "USD", "GBP"][n % 3]
        booking_id = f"b{n}"
        add(
            "booking.created",
            at + timedelta(minutes=9),
            {
                "booking_id": booking_id,
                "customer_id": customer,
                "destination": destination,
                "booking_type": booking_type,
                "channel": ["web", "app", "agent"][n % 3],
                "total_amount": f"{rng.randrange(40, 3000)}.{rng.randrange(100):02d}",
                "currency": currency,
            },
        )
        add(
            "payment.captured",
            at + timedelta(minutes=10),
            {"booking_id": booking_id, "amount": "40.00", "currency": currency},
        )
        if rng.random() < 0.25:
            add(
                "booking.modified",
                at + timedelta(days=rng.randrange(1, 30)),
                {"booking_id": booking_id, "total_amount": f"{rng.randrange(40, 3000)}.00", "currency": currency},
            )
        if rng.random() < 0.15:
            add("booking.cancelled", at + timedelta(days=rng.randrange(1, 60)), {"booking_id": booking_id})
    del rows[count:]
    # Sent roughly in time order, as a backlog would be, with a few stragglers.
    rows.sort(key=lambda row: row[2] + timedelta(hours=rng.expovariate(1) * 24 * (rng.random() < 0.05)))
    return rows


def http_events(count: int, per_request: int = 500, prefix: str = "h") -> list[list[tuple[Any, ...]]]:
    """What the HTTP ingest figure posts: requests of booking.created, as rows (event_id, type, occurred_at, data).

    Booking ids are prefix + a number: each set posted into one database needs a prefix of its own.
    """
    start = datetime.now(UTC) - timedelta(hours=1)
    requests = []
    for r in range(count // per_request):
        rows = []
        for i in range(per_request):
            data = {
                "booking_id": f"{prefix}{r}-{i}",
                "customer_id": "c1",
                "destination": DESTINATIONS[i % 8],
                "booking_type": "flight",
                "total_amount": "199.99",
                "currency": "EUR",
            }
            at = start + timedelta(milliseconds=r * per_request + i)
            rows.append((uuid.uuid4(), "booking.created", at, json.dumps(data)))
        requests.append(rows)
    return requests


def copy_baseline(admin_url: str, rows: list[tuple[Any, ...]]) -> float:
    """Raw COPY of exactly these events into pulse.events of a fresh database of the same schema: seconds."""
    url = fresh_database(admin_url, "pulse_bench_copy")
    try:
        return copy_events(url, rows)
    finally:
        drop_database(admin_url, "pulse_bench_copy")


def copy_events(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Raw COPY of the backlog: the ingest baseline. booking_ids as ingest would claim them, and each
    booking.created marked as holding its booking_id, as pulse.append_events marks it (the backlog's
    booking ids are unique)."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("copy pulse.event_ids (event_id) from stdin") as copy:
            for row in rows:
                copy.write_row((row[0],))
        with cur.copy("copy pulse.events (event_id, type, occurred_at, data, holds_booking) from stdin") as copy:
            for row in rows:
                copy.write_row((*row, True if row[1] == "booking.created" else None))
        cur.execute(
            "insert into pulse.booking_ids select data->>'booking_id', event_id from pulse.events "
            "where type = 'booking.created'"
        )
    return time.perf_counter() - started


async def catch_up(url: str, projection: Projection) -> float:
    async with make_pool(url, max_size=2) as pool:
        worker = ProjectionWorker(pool, projection, Settings(database_url=url, batch_size=BATCH_SIZE))
        await worker.ensure_checkpoint()
        started = time.perf_counter()
        while outcome := await worker.run_batch():
            if not outcome.events:
                break
            worker.batch_limit = worker.next_batch_limit(outcome.events)
        return time.perf_counter() - started


def timed(url: str, name: str, repeat: int = 1) -> float:
    """Seconds of a named query of bench/queries.sql: the median of repeat runs."""
    statement = parse_named(QUERIES.read_text())[name]
    seconds = []
    with psycopg.connect(url, autocommit=True) as conn:
        # The settings the projection workers run with (core/db.py): a recompute is measured as fast as
        # it can run here, and jit off made the recomputes faster, not slower.
        conn.execute("set jit = off")
        conn.autocommit = False
        for _ in range(repeat):
            # Rolled back: the scratch tables of a recompute go with it.
            with conn.transaction(force_rollback=True):
                started = time.perf_counter()
                conn.execute(statement)
                seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def http_ingest(base: str, requests: list[list[tuple[Any, ...]]], clients: int = 4) -> float:
    """Seconds to POST the requests as NDJSON from several clients at once.

    The clients are aiohttp's (its HTTP parser is C): they share the 2 cores with the server and
    PostgreSQL, and httpx2's pure-Python HTTP took 0.31-0.36 CPU-s per 10^5 events inside the timed
    window, aiohttp's 0.10-0.12.
    """
    bodies = [
        "\n".join(
            json.dumps(
                {"event_id": str(event_id), "type": kind, "occurred_at": at.isoformat(), "data": json.loads(data)}
            )
            for event_id, kind, at, data in rows
        ).encode()
        for rows in requests
    ]

    async def run() -> float:
        queue = list(reversed(bodies))
        headers = {"Content-Type": "application/x-ndjson"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

            async def client() -> None:
                while queue:
                    async with session.post(base + "/v1/events", data=queue.pop(), headers=headers) as response:
                        answer = await response.read()
                        assert response.status == 200, answer

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(clients)))
            return time.perf_counter() - started

    return asyncio.run(run())


def ingest_figures(
    admin_url: str, url: str, http_count: int, while_serving: Callable[[str], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """HTTP ingest of http_count events into the database at url, against a raw COPY of the same events.

    First two other sets of the same shape go to servers without projection workers
    (PULSE_SERVE_PROJECTIONS=false, as beside a `pulse work`): one process with 4 clients, then two
    processes with 8: what the write path alone costs; on 2 cores the workers otherwise share the CPU
    with ingest. A server with its workers catches those sets up, then
    the timed set is posted to it, and while_serving(base), if given, runs against it: its figures are
    added. make bench (10^6 events) and make bench-large (10^7) both measure this way, so the rates compare.
    Both servers run without the scheduled jobs (NO_JOBS): each start on a database with no forecast began
    a forecast refresh, whose SQL shared the 2 cores with the ingest it was timing.
    """
    port = BENCH_PORT
    base = f"http://127.0.0.1:{port}"
    requests = http_events(http_count)
    # The baseline: raw COPY of the same events into the same table, in this run.
    same_copy_seconds = copy_baseline(admin_url, [row for rows in requests for row in rows])
    server = start_server(url, port, workers=1, PULSE_SERVE_PROJECTIONS="false", **NO_JOBS)
    try:
        alone_seconds = http_ingest(base, http_events(http_count, prefix="w"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # The write path with a server process per core and two clients per process: what ingest alone can
    # do on this machine when the projections run elsewhere.
    server = start_server(url, port, workers=2, PULSE_SERVE_PROJECTIONS="false", **NO_JOBS)
    try:
        two_processes_seconds = http_ingest(base, http_events(http_count, prefix="v"), clients=8)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    figures: dict[str, Any] = {}
    server = start_server(url, port, workers=1, **NO_JOBS)
    try:
        wait_until_caught_up(base)
        http_seconds = http_ingest(base, requests)
        if while_serving is not None:
            figures.update(while_serving(base))
        wait_until_caught_up(base)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        "http_ingest_events": http_count,
        "http_ingest_seconds": round(http_seconds, 2),
        "http_ingest_events_per_s": round(http_count / http_seconds),
        "http_ingest_copy_events_per_s": round(http_count / same_copy_seconds),
        "http_ingest_vs_copy_ratio": round(same_copy_seconds / http_seconds, 3),
        "http_ingest_without_projections_events_per_s": round(http_count / alone_seconds),
        "http_ingest_without_projections_vs_copy_ratio": round(same_copy_seconds / alone_seconds, 3),
        "http_ingest_two_processes_without_projections_events_per_s": round(http_count / two_processes_seconds),
        "http_ingest_two_processes_without_projections_vs_copy_ratio": round(
            same_copy_seconds / two_processes_seconds, 3
        ),
        **figures,
    }


def main() -> None:
    admin_url = admin_database_url()
    url = fresh_database(admin_url)
    rows = event_rows(EVENTS)
    copy_seconds = copy_events(url, rows)
    figures: dict[str, Any] = {"events": EVENTS, "copy_events_per_s": round(EVENTS / copy_seconds)}
    total_catch_up = total_recompute = total_full_recompute = 0.0
    recomputes = parse_named(QUERIES.read_text())
    for projection in ALL_PROJECTIONS:
        if f"recompute_{projection.name}" not in recomputes:
            print(f"{projection.name}: no recompute_{projection.name} in bench/queries.sql, so no same-run baseline")
            continue
        catch_up_seconds = asyncio.run(catch_up(url, projection))
        recompute_seconds = timed(url, f"recompute_{projection.name}")
        total_catch_up += catch_up_seconds
        total_recompute += recompute_seconds
        figures[f"{projection.name}_catch_up_events_per_s"] = round(EVENTS / catch_up_seconds)
        figures[f"{projection.name}_recompute_events_per_s"] = round(EVENTS / recompute_seconds)
        figures[f"{projection.name}_catch_up_vs_recompute"] = round(recompute_seconds / catch_up_seconds, 3)
        # recompute_bookings gives only the hourly rollup's sums, the baseline this figure started from;
        # recompute_bookings_full recomputes every table the projection keeps, as the other recomputes do.
        if f"recompute_{projection.name}_full" in recomputes:
            full_seconds = timed(url, f"recompute_{projection.name}_full")
            figures[f"{projection.name}_full_recompute_events_per_s"] = round(EVENTS / full_seconds)
            figures[f"{projection.name}_catch_up_vs_full_recompute"] = round(full_seconds / catch_up_seconds, 3)
            total_full_recompute += full_seconds
        else:
            total_full_recompute += recompute_seconds
    figures["all_projections_catch_up_events_per_s"] = round(EVENTS / total_catch_up)
    figures["all_projections_catch_up_vs_recompute"] = round(total_recompute / total_catch_up, 3)
    figures["all_projections_catch_up_vs_full_recompute"] = round(total_full_recompute / total_catch_up, 3)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    views_seconds = timed(url, "month_by_destination_views", repeat=5)
    raw_seconds = timed(url, "month_by_destination_raw", repeat=5)
    figures["month_by_destination_views_ms"] = round(views_seconds * 1000, 1)
    figures["month_by_destination_raw_events_ms"] = round(raw_seconds * 1000, 1)
    figures["month_by_destination_speedup"] = round(raw_seconds / views_seconds, 1)

    port = BENCH_PORT
    http_count = min(EVENTS, 100000)
    figures.update(ingest_figures(admin_url, url, http_count))
    # Against the COPY of the backlog above (other events, 10x as many), as this figure was first measured.
    figures["http_ingest_vs_backlog_copy_ratio"] = round(
        copy_seconds / EVENTS * http_count / figures["http_ingest_seconds"], 3
    )
    # The live stream with 500 dashboards while 2,000 events/s arrive, and memory per idle client.
    # With no forecast yet, a server starts the forecast refresh at once (a minute or two of CPU, daily);
    # the data-quality checks (with the reconciliation, ~10 s of SQL at 10^6 events, hourly) first run
    # PULSE_DQ_INTERVAL (5 min) after a start, so no run below includes them. Most of the time no job
    # runs: the stream_workers_* figures are measured with both off, and stream_with_jobs_* with the
    # defaults, during the first refresh after a start.
    # On a settled database, as after any backfill: right after the bulk loads above, autovacuum's catch-up
    # (event_ids, booking_ids, the chunks, the rollups) shared the 2 cores with the stream and put one
    # worker's p99 at 166-237 ms in 5 of 10 runs (66 ms in a run with autovacuum off).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    for prefix, workers, env, with_memory in (
        ("stream_workers_1", 1, NO_JOBS, True),
        ("stream_workers_2", 2, NO_JOBS, True),
        ("stream_with_jobs_workers_1", 1, {}, False),
    ):
        server = start_server(url, port, workers=workers, PULSE_STREAM_MAX_CLIENTS="5000", **env)
        try:
            live = asyncio.run(stream.measure_delay(port, clients_count=500, rate=2000, seconds=20))
            idle = asyncio.run(stream.measure_memory(port, server.pid)) if with_memory else {}
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        for name, value in (live | idle).items():
            figures[f"{prefix}_{name}"] = value

    for name, value in figures.items():
        print(f"{name:40} {value}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"measured_at": datetime.now(UTC).isoformat(), **figures}, indent=2) + "\n")
    print(f"written to {Path(RESULTS).relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
