"""Benchmark: `pulse import` of legacy MySQL rows against a raw COPY of the same events.

Starts a throwaway MariaDB, loads PULSE_BENCH_LEGACY_ROWS legacy bookings
(default 1,000,000) in the legacy schema, and in the same run:
- times `pulse import` end to end (a real process: reading MySQL through a
  server-side cursor, mapping, validation, the write contract, row states);
- copies the events it appended out of that database and times a raw COPY of
  exactly those events into a fresh one (pulse.event_ids, pulse.events, and
  pulse.booking_ids claimed as ingest would): the baseline.

- replays those events through the write contract alone (pulse.append_events
  in batches of 10,000, as the import calls it, without MySQL, mapping,
  validation or row states) into a third database: how much of the import's
  time the write contract itself takes.

Prints rows/s, events/s and the ratio (COPY seconds / import seconds; the goal
is >= 0.5), and writes them to bench/results/legacy_import.json. PostgreSQL is
the local cluster (or PULSE_BENCH_DATABASE_URL's server). `--runs N` repeats
the pair N times on the same legacy data.

    .venv/bin/python -m bench.legacy_import [--runs 3]
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from app.legacy.mariadb import MariaDB
from bench.harness import admin_database_url, fresh_database
from core.settings import PROJECT_ROOT
from core.sql import named_queries

ROWS = int(os.environ.get("PULSE_BENCH_LEGACY_ROWS", "1000000"))
RESULTS = PROJECT_ROOT / "bench" / "results" / "legacy_import.json"

LEGACY_SCHEMA = """
create table bookings (
  id           int           not null auto_increment primary key,
  customer_id  int,
  created_at   datetime,
  total_amount decimal(10,2),
  destination  varchar(100),
  booking_type varchar(20),
  status       varchar(20),
  updated_at   timestamp     not null default current_timestamp on update current_timestamp,
  key bookings_updated_at (updated_at)
) engine=InnoDB
"""

# Three years of bookings, a booking every ~95 s; 8% cancelled, 2% pending.
LEGACY_ROWS = """
insert into bookings (id, customer_id, created_at, total_amount, destination, booking_type, status, updated_at)
with recursive seq (n) as (select 1 union all select n + 1 from seq where n < %(rows)s)
select n,
       1 + (n * 7919) %% %(customers)s,
       timestamp '2023-01-01 00:00:00' + interval (n * 95) second,
       40 + (n * 104729) %% 296000 / 100,
       elt(1 + n %% 8, 'Lisbon', 'Tokyo', 'Cancun', 'Paris', 'London', 'New York', 'Cape Town', 'Reykjavik'),
       elt(1 + n %% 4, 'flight', 'hotel', 'package', 'car'),
       case when n %% 50 = 0 then 'pending' when n %% 12 = 0 then 'cancelled' else 'confirmed' end,
       timestamp '2023-01-01 00:00:00' + interval (n * 95 + 3600 * (n %% 48)) second
from seq
"""

MAPPING = 'source = "oldschool"\ntimezone = "Europe/London"\n[bookings]\ncurrency = "EUR"\n'


def load_legacy(server: MariaDB, rows: int) -> float:
    started = time.perf_counter()
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("set session max_recursive_iterations = 100000000")
        cur.execute(LEGACY_SCHEMA)
        cur.execute(LEGACY_ROWS, {"rows": rows, "customers": max(rows // 20, 1)})
        cur.execute("analyze table bookings")
    return time.perf_counter() - started


def time_import(url: str, legacy_url: str, mapping: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", legacy_url, "--mapping", str(mapping), "--no-progress"],
        env={**os.environ, "PULSE_DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pulse import failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout.strip()


def exported_events(url: str) -> bytes:
    """The events the import appended, in log order, as COPY text."""
    buffer = io.BytesIO()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "copy (select event_id, type, occurred_at, data from pulse.events order by xact_id, seq) to stdout"
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
    return buffer.getvalue()


def exported_fragments(url: str) -> list[str]:
    """The same events as the JSON fragments the import sends the write contract, in log order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select json_build_object('i', event_id, 't', type, 'o', occurred_at, 'd', data)::text "
            "from pulse.events order by xact_id, seq"
        ).fetchall()
    return [row[0] for row in rows]


def time_contract(url: str, fragments: list[str], batch: int = 10000) -> float:
    """Seconds spent in the write contract alone, batch by batch, as the import calls it."""
    statement = named_queries("legacy/pulse.sql")["append_legacy_events"]
    seconds = 0.0
    with psycopg.connect(url) as conn:
        conn.execute("set plan_cache_mode = force_custom_plan")
        conn.commit()
        for start in range(0, len(fragments), batch):
            payload = "[" + ",".join(fragments[start : start + batch]) + "]"
            started = time.perf_counter()
            conn.execute(statement, {"events": payload}).fetchone()
            conn.commit()
            seconds += time.perf_counter() - started
    return seconds


def time_copy(url: str, events: bytes) -> float:
    """Raw COPY of the same events: the baseline, with event and booking ids claimed as ingest would."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("copy pulse.events (event_id, type, occurred_at, data) from stdin") as copy:
            copy.write(events)
        cur.execute("insert into pulse.event_ids select event_id from pulse.events")
        cur.execute(
            "insert into pulse.booking_ids select data->>'booking_id', event_id from pulse.events "
            "where type = 'booking.created'"
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    admin = admin_database_url()
    runs: list[dict[str, Any]] = []
    with MariaDB(buffer_pool="1G") as server, tempfile.TemporaryDirectory() as scratch:
        mapping = Path(scratch) / "mapping.toml"
        mapping.write_text(MAPPING)
        load_seconds = load_legacy(server, ROWS)
        print(f"loaded {ROWS} legacy rows into MariaDB in {load_seconds:.1f}s", flush=True)
        for run in range(args.runs):
            import_url = fresh_database(admin, "pulse_bench_legacy")
            import_seconds, summary = time_import(import_url, server.url(), mapping)
            events = exported_events(import_url)
            count = events.count(b"\n")
            fragments = exported_fragments(import_url)
            copy_url = fresh_database(admin, "pulse_bench_legacy_copy")
            copy_seconds = time_copy(copy_url, events)
            contract_url = fresh_database(admin, "pulse_bench_legacy_contract")
            contract_seconds = time_contract(contract_url, fragments)
            del fragments
            figures = {
                "legacy_rows": ROWS,
                "events": count,
                "import_seconds": round(import_seconds, 2),
                "import_rows_per_s": round(ROWS / import_seconds),
                "import_events_per_s": round(count / import_seconds),
                "copy_seconds": round(copy_seconds, 2),
                "copy_events_per_s": round(count / copy_seconds),
                "import_vs_copy_ratio": round(copy_seconds / import_seconds, 3),
                "contract_alone_seconds": round(contract_seconds, 2),
                "contract_alone_events_per_s": round(count / contract_seconds),
                "contract_alone_vs_copy_ratio": round(copy_seconds / contract_seconds, 3),
            }
            runs.append(figures)
            print(f"run {run + 1}: {summary}")
            for name, value in figures.items():
                print(f"  {name:24} {value}")
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in ("pulse_bench_legacy", "pulse_bench_legacy_copy", "pulse_bench_legacy_contract"):
                conn.execute(f"drop database if exists {name} with (force)")
    ratios = [run["import_vs_copy_ratio"] for run in runs]
    contract = [run["contract_alone_vs_copy_ratio"] for run in runs]
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "legacy_rows": ROWS,
        "runs": runs,
        "import_vs_copy_ratio_min": min(ratios),
        "import_vs_copy_ratio_median": statistics.median(ratios),
        "import_vs_copy_ratio_max": max(ratios),
        "contract_alone_vs_copy_ratio_min": min(contract),
        "contract_alone_vs_copy_ratio_max": max(contract),
        "goal": 0.5,
    }
    print(f"import vs COPY: {min(ratios)} to {max(ratios)} (median {statistics.median(ratios)}); goal >= 0.5")
    print(f"the write contract alone vs COPY: {min(contract)} to {max(contract)}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
