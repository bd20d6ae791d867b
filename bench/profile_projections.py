"""Where each projection's catch-up spends its time: pg_stat_statements per statement over a catch-up.

PULSE_BENCH_EVENTS events of the backlog (default 300,000); PULSE_BENCH_ONLY=name,... for some
projections. Needs pg_stat_statements in shared_preload_libraries of the benchmark server.
"""

import asyncio
import os
import time

import psycopg

from bench.harness import fresh_database
from bench.run_all import catch_up, copy_events, event_rows
from projections import ALL_PROJECTIONS

EVENTS = int(os.environ.get("PULSE_BENCH_EVENTS", "300000"))
TOP = """
select calls, round(total_exec_time::numeric) as ms, round(total_plan_time::numeric) as plan_ms, rows,
       wal_bytes, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as statement
from pg_stat_statements
where dbid = (select oid from pg_database where datname = current_database())
order by total_exec_time desc
limit 12
"""


def main() -> None:
    url = fresh_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_stat_statements")
    copy_events(url, event_rows(EVENTS))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    only = [name for name in os.environ.get("PULSE_BENCH_ONLY", "").split(",") if name]
    for projection in ALL_PROJECTIONS:
        if only and projection.name not in only:
            continue
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("select pg_stat_statements_reset()")
        started = time.perf_counter()
        seconds = asyncio.run(catch_up(url, projection))
        wall = time.perf_counter() - started
        print(f"=== {projection.name}: {EVENTS / seconds:.0f} events/s ({wall:.1f} s)")
        with psycopg.connect(url, autocommit=True) as conn:
            for row in conn.execute(TOP):
                print("  ", row)


if __name__ == "__main__":
    main()
