"""Projection catch-up alone, as bench/run_all.py measures it, for profiling and A/B runs.

A fresh pulse_bench database with PULSE_BENCH_EVENTS events of the backlog (default 1,000,000)
copied in; then each projection's catch-up against its same-run recompute (PULSE_BENCH_ONLY=name,...
for some of them), and the month query on views against raw events.
"""

import asyncio
import os

import psycopg

from bench.harness import fresh_database
from bench.run_all import EVENTS, QUERIES, catch_up, copy_events, event_rows, timed
from core.sql import parse_named
from projections import ALL_PROJECTIONS


def main() -> None:
    url = fresh_database()
    copy_events(url, event_rows(EVENTS))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    only = [name for name in os.environ.get("PULSE_BENCH_ONLY", "").split(",") if name]
    total_catch_up = total_recompute = 0.0
    recomputes = parse_named(QUERIES.read_text())
    for projection in ALL_PROJECTIONS:
        if only and projection.name not in only:
            continue
        catch_up_seconds = asyncio.run(catch_up(url, projection))
        recompute_seconds = timed(url, f"recompute_{projection.name}")
        total_catch_up += catch_up_seconds
        total_recompute += recompute_seconds
        print(
            f"{projection.name:12} catch-up {EVENTS / catch_up_seconds:9.0f}/s"
            f"  recompute {EVENTS / recompute_seconds:9.0f}/s  ratio {recompute_seconds / catch_up_seconds:.3f}"
        )
        if f"recompute_{projection.name}_full" in recomputes:
            full_seconds = timed(url, f"recompute_{projection.name}_full")
            print(f"{'':12} full recompute {EVENTS / full_seconds:9.0f}/s  ratio {full_seconds / catch_up_seconds:.3f}")
    print(f"{'together':12} catch-up {EVENTS / total_catch_up:9.0f}/s  ratio {total_recompute / total_catch_up:.3f}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    views = timed(url, "month_by_destination_views", repeat=5)
    raw = timed(url, "month_by_destination_raw", repeat=5)
    print(f"month query: views {1000 * views:.1f} ms, raw {1000 * raw:.1f} ms, speedup {raw / views:.1f}")


if __name__ == "__main__":
    main()
