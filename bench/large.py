"""`make bench-large`: the figures of issue 11 at scale, 10^7 events by default (PULSE_BENCH_EVENTS).

Not in CI: 10-15 minutes and a ~6 GiB database on a 2-core machine (it prints both). In one run:
- the backlog COPYed into a fresh database (the raw COPY rate);
- each projection rebuilt from the whole log by a timed full replay (pulse replay: rebuild tables,
  batches of 50,000, swap), against its same-run recompute;
- the analyst's month query on the views against the raw events (each the median of 5);
- HTTP ingest of 100k events into the large database, measured as `make bench` measures it at 10^6
  (bench.run_all.ingest_figures), against a COPY of the same events into a fresh one, and against the
  HTTP rate of bench/results/latest.json (the 10^6 run of `make bench`);
- GET /v1/status and GET /readyz latency (median and max of 20, the server running on the large log,
  right after the timed ingest, while its workers catch up);
- the database's size on disk.
Writes bench/results/large.json.
"""

import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx2
import psycopg

from bench.harness import admin_database_url, fresh_database
from bench.run_all import QUERIES, RESULTS, copy_events, event_rows, ingest_figures, timed
from core.db import make_pool
from core.settings import PROJECT_ROOT, Settings
from core.sql import parse_named
from projections import ALL_PROJECTIONS
from projections.replay import replay

EVENTS = int(os.environ.get("PULSE_BENCH_EVENTS", "10000000"))
LARGE_RESULTS = PROJECT_ROOT / "bench" / "results" / "large.json"


async def timed_replay(url: str, name: str) -> float:
    projection = next(p for p in ALL_PROJECTIONS if p.name == name)
    settings = Settings(database_url=url, use_local_cluster=False)
    async with make_pool(url, max_size=2, role=settings.role("projector")) as pool:
        started = time.perf_counter()
        await replay(pool, projection, settings)
        return time.perf_counter() - started


def latencies(url: str, path: str, times: int = 20) -> tuple[float, float]:
    # One client for all probes: httpx2.get builds a client per call, and building one (its TLS context,
    # even for http) took 20-23 ms here, more than /readyz itself (1.2 ms median, against curl's 1.5).
    seconds = []
    with httpx2.Client(timeout=30) as client:
        for _ in range(times):
            started = time.perf_counter()
            response = client.get(url + path)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code, response.text)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main() -> None:
    started = time.perf_counter()
    admin_url = admin_database_url()
    url = fresh_database(admin_url)
    figures: dict[str, Any] = {"events": EVENTS}
    rows = event_rows(EVENTS)
    figures["generate_s"] = round(time.perf_counter() - started)
    copy_seconds = copy_events(url, rows)
    del rows
    figures["copy_events_per_s"] = round(EVENTS / copy_seconds)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    recomputes = parse_named(QUERIES.read_text())
    total_replay = total_recompute = total_full_recompute = 0.0
    for projection in ALL_PROJECTIONS:
        replay_seconds = asyncio.run(timed_replay(url, projection.name))
        recompute_seconds = (
            timed(url, f"recompute_{projection.name}") if f"recompute_{projection.name}" in recomputes else None
        )
        figures[f"{projection.name}_replay_s"] = round(replay_seconds, 1)
        figures[f"{projection.name}_replay_events_per_s"] = round(EVENTS / replay_seconds)
        if recompute_seconds is not None:
            total_replay += replay_seconds
            total_recompute += recompute_seconds
            figures[f"{projection.name}_recompute_s"] = round(recompute_seconds, 1)
            figures[f"{projection.name}_replay_vs_recompute"] = round(recompute_seconds / replay_seconds, 3)
            # As in make bench: bookings also against a recompute of every table it keeps.
            if f"recompute_{projection.name}_full" in recomputes:
                full_seconds = timed(url, f"recompute_{projection.name}_full")
                figures[f"{projection.name}_full_recompute_s"] = round(full_seconds, 1)
                figures[f"{projection.name}_replay_vs_full_recompute"] = round(full_seconds / replay_seconds, 3)
                total_full_recompute += full_seconds
            else:
                total_full_recompute += recompute_seconds
        print(projection.name, {k: v for k, v in figures.items() if k.startswith(projection.name)}, flush=True)
    figures["all_projections_replay_vs_recompute"] = round(total_recompute / total_replay, 3)
    figures["all_projections_replay_vs_full_recompute"] = round(total_full_recompute / total_replay, 3)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    views_seconds = timed(url, "month_by_destination_views", repeat=5)
    raw_seconds = timed(url, "month_by_destination_raw", repeat=5)
    figures["month_by_destination_views_ms"] = round(views_seconds * 1000, 1)
    figures["month_by_destination_raw_events_ms"] = round(raw_seconds * 1000, 1)
    figures["month_by_destination_speedup"] = round(raw_seconds / views_seconds, 1)

    def latency_figures(base: str) -> dict[str, Any]:
        # Right after the timed ingest, while the workers catch up on it.
        measured: dict[str, Any] = {}
        for path in ("/v1/status", "/readyz"):
            median, worst = latencies(base, path)
            measured[f"{path.strip('/').replace('/', '_')}_median_ms"] = round(median, 1)
            measured[f"{path.strip('/').replace('/', '_')}_max_ms"] = round(worst, 1)
        return measured

    # The same procedure as the 10^6 run of make bench, so that the two rates compare.
    figures.update(ingest_figures(admin_url, url, 100_000, while_serving=latency_figures))
    if RESULTS.exists():
        small = json.loads(RESULTS.read_text())
        if small.get("http_ingest_events_per_s"):
            figures["http_ingest_vs_1e6_run"] = round(
                figures["http_ingest_events_per_s"] / small["http_ingest_events_per_s"], 3
            )
    with psycopg.connect(url, autocommit=True) as conn:
        size = conn.execute("select pg_database_size(current_database())").fetchone()
        assert size is not None
        figures["database_gib"] = round(size[0] / 2**30, 1)
    figures["total_minutes"] = round((time.perf_counter() - started) / 60, 1)
    for name, value in figures.items():
        print(f"{name:40} {value}")
    LARGE_RESULTS.parent.mkdir(exist_ok=True)
    LARGE_RESULTS.write_text(json.dumps({"measured_at": datetime.now(UTC).isoformat(), **figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
