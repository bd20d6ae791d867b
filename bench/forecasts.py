"""Demand forecasts on a year of simulated traffic that goes through the database.

1. Simulates DAYS days of bookings up to yesterday (bench.forecast_backtest's
   traffic: destinations with their own level, growth, yearly and weekly
   patterns, holidays, overdispersed counts, booking types and gamma-distributed
   values), one booking.created event per booking: 70 % in USD, 30 % in EUR
   (converted back at a loaded rate of 1.10), customers who book at rates of
   their own and drop out.
2. Appends them through the write contract (pulse.append_events, batches of
   5,000) and runs the bookings projection.
3. Reads the daily series back as a refresh does (store.read_demand_history:
   bookings and gross revenue in the reporting currency, overall, per
   destination and per booking type) and backtests every series
   (bench.forecast_backtest.backtest_levels): at ORIGINS cut points HORIZON days
   apart, a full refresh (fit, backtest, choose, reconcile) on what came before,
   scored on the HORIZON days after. Per level: the median MASE of the chosen
   (reconciled) forecasts and of the seasonal naive forecast, the share of
   series that beat it, and the 80 % and 95 % interval coverage.
4. Times REFRESHES full product refreshes of all series (store.refresh_demand:
   read from the rollups, 90 days ahead, write), and one customer-value refresh.

    python -m bench.forecasts [--destinations 94] [--days 365] [--horizon 28] [--origins 3] [--seed 0]

Runs against a fresh database `pulse_bench` on the local cluster (or on
PULSE_BENCH_DATABASE_URL's server); prints the figures and writes them to
bench/results/forecasts-seed<SEED>.json. 94 destinations make 200 series (two
metrics of 1 total, 94 destinations and 5 booking types).
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from app.forecasting import store
from app.fx import FxRate, load_rates
from bench.forecast_backtest import TYPES, backtest_levels, simulate_traffic
from bench.harness import fresh_database
from core.db import make_pool
from core.settings import PROJECT_ROOT, Settings
from core.sql import named_queries
from projections import BOOKINGS
from projections.worker import ProjectionWorker

EUR_RATE = Decimal("1.10")
EUR_SHARE = 0.3
BATCH = 5000


def destination_name(d: int) -> str:
    return f"Destination {d:03d}"


def booking_events(destinations: int, days: int, last_day: date, seed: int) -> Iterator[list[dict[str, Any]]]:
    """The simulated traffic as booking.created events, a day at a time, in the write contract's JSON shape."""
    start = last_day - timedelta(days=days - 1)
    traffic = simulate_traffic(destinations, days, seed, start.isoformat())
    rng = np.random.default_rng(seed + 1)
    # Customers: a rate of their own (gamma weights), a first day, and a day they drop out.
    customers = max(1000, int(traffic.counts.sum() / 8))
    weights = rng.gamma(0.5, 1.0, customers)
    joins = rng.integers(0, days, customers)
    leaves = joins + rng.exponential(150.0, customers).astype(np.int64)
    booking = 0
    for t, day in enumerate(traffic.days):
        active = (joins <= t) & (leaves >= t)
        p = np.where(active, weights, 0.0)
        p = p / p.sum() if p.sum() > 0 else np.full(customers, 1.0 / customers)
        n = int(traffic.counts[:, :, t].sum())
        who = rng.choice(customers, size=n, p=p)
        seconds = rng.integers(6 * 3600, 22 * 3600, n)
        euro = rng.random(n) < EUR_SHARE
        rows: list[dict[str, Any]] = []
        i = 0
        for d in range(destinations):
            for k, booking_type in enumerate(TYPES):
                count = int(traffic.counts[d, k, t])
                values = rng.gamma(4.0, traffic.value_scale[d, k], count)
                for value in values:
                    booking += 1
                    at = day.to_pydatetime().replace(tzinfo=UTC) + timedelta(seconds=int(seconds[i]))
                    amount, currency = (value / float(EUR_RATE), "EUR") if euro[i] else (value, "USD")
                    rows.append(
                        {
                            "i": str(uuid.uuid4()),
                            "t": "booking.created",
                            "o": at.isoformat(),
                            "d": {
                                "booking_id": f"bench-{seed}-{booking}",
                                "customer_id": f"customer-{who[i]}",
                                "destination": destination_name(d),
                                "booking_type": booking_type,
                                "total_amount": f"{amount:.2f}",
                                "currency": currency,
                            },
                        }
                    )
                    i += 1
        yield rows


def load(url: str, destinations: int, days: int, last_day: date, seed: int) -> tuple[int, float]:
    """Appends the traffic through pulse.append_events in batches; returns (events, seconds)."""
    statement = named_queries("legacy/pulse.sql")["append_legacy_events"]
    started = time.perf_counter()
    events = 0
    pending: list[dict[str, Any]] = []
    with psycopg.connect(url) as conn:
        # As pulse import does: a generic plan of the contract's call, prepared after five batches, is slow.
        conn.execute("set plan_cache_mode = force_custom_plan")
        conn.commit()

        def flush() -> None:
            nonlocal events
            row = conn.execute(statement, {"events": json.dumps(pending)}).fetchone()
            conn.commit()
            assert row is not None and row[0] == len(pending), row
            events += len(pending)
            pending.clear()

        for day_rows in booking_events(destinations, days, last_day, seed):
            pending.extend(day_rows)
            if len(pending) >= BATCH:
                flush()
        if pending:
            flush()
    return events, time.perf_counter() - started


async def project(url: str) -> float:
    started = time.perf_counter()
    async with make_pool(url, max_size=2) as pool:
        worker = ProjectionWorker(pool, BOOKINGS, Settings(database_url=url, batch_size=BATCH))
        await worker.ensure_checkpoint()
        while outcome := await worker.run_batch():
            if not outcome.events:
                break
            worker.batch_limit = worker.next_batch_limit(outcome.events)
    return time.perf_counter() - started


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--destinations", type=int, default=94, help="destinations (94: 200 series)")
    parser.add_argument("--days", type=int, default=365, help="days of traffic up to yesterday (default 365)")
    parser.add_argument("--horizon", type=int, default=28, help="backtest horizon in days (default 28)")
    parser.add_argument("--origins", type=int, default=3, help="backtest origins, horizon days apart (default 3)")
    parser.add_argument("--refreshes", type=int, default=2, help="full product refreshes timed (default 2)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    url = fresh_database()
    last_day = datetime.now(UTC).date() - timedelta(days=1)
    load_rates(url, [FxRate("EUR", None, last_day - timedelta(days=args.days + 30), None, EUR_RATE)])
    events, load_seconds = load(url, args.destinations, args.days, last_day, args.seed)
    project_seconds = asyncio.run(project(url))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
        read_started = time.perf_counter()
        history = store.read_demand_history(conn, last_day, args.days)
        read_seconds = time.perf_counter() - read_started
        assert not history.skipped, history.skipped
        df = pd.concat(history.frames.values(), ignore_index=True)
        hierarchies = list(store.hierarchies(history).values())
        backtest = backtest_levels(df, hierarchies, args.horizon, args.origins, args.jobs)
        refreshes = []
        for _ in range(args.refreshes):
            wall, cpu = time.perf_counter(), cpu_seconds()
            done = store.refresh_demand(conn, last_day, n_jobs=args.jobs)
            refreshes.append(
                {
                    "seconds": round(time.perf_counter() - wall, 1),
                    "cpu_seconds": round(cpu_seconds() - cpu, 1),
                    "series": done.items,
                    "load_average_1min": round(os.getloadavg()[0], 2),
                }
            )
        customers = store.refresh_customer_values(conn, last_day)

    figures: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(),
        "seed": args.seed,
        "destinations": args.destinations,
        "days": args.days,
        "events": events,
        "load_events_per_s": round(events / load_seconds),
        "project_events_per_s": round(events / project_seconds),
        "read_series_seconds": round(read_seconds, 2),
        "cores": os.cpu_count(),
        "backtest": backtest,
        "refreshes": refreshes,
        "customer_value_refresh": {"seconds": round(customers.seconds, 1), "summary": customers.summary},
    }
    print(report(figures), file=sys.stderr)
    out = PROJECT_ROOT / "bench" / "results" / f"forecasts-seed{args.seed}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {out.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    return 0


def report(figures: dict[str, Any]) -> str:
    b = figures["backtest"]
    lines = [
        f"{figures['events']} booking events over {figures['days']} days, {figures['destinations']} destinations: "
        f"{b['series']} series; loaded at {figures['load_events_per_s']}/s through pulse.append_events, "
        f"projected at {figures['project_events_per_s']}/s; series read back in {figures['read_series_seconds']} s",
        f"backtest: horizon {b['horizon']} days, {b['origins']} origins, {b['n_jobs']} jobs",
        f"{'level':<13}{'scored':>7}{'chosen':>8}{'s.naive':>9}{'beats':>7}{'in 80 %':>9}{'in 95 %':>9}",
    ]
    for level, v in b["levels"].items():
        lines.append(
            f"{level:<13}{v['forecasts_scored']:>7}{v['median_mase']:>8.3f}{v['median_mase_seasonal_naive']:>9.3f}"
            f"{v['share_beating_seasonal_naive']:>7.0%}{v['coverage_80']:>9.1%}{v['coverage_95']:>9.1%}"
        )
    lines.append("models chosen: " + ", ".join(f"{k} {n}" for k, n in b["chosen_models"].items()))
    lines.append(
        "full refresh (read, 90 days ahead, write): "
        + ", ".join(
            f"{r['seconds']} s ({r['cpu_seconds']} s CPU, load {r['load_average_1min']})" for r in figures["refreshes"]
        )
        + f" for {figures['refreshes'][0]['series']} series on {figures['cores']} cores"
    )
    c = figures["customer_value_refresh"]
    lines.append(f"customer value refresh: {c['seconds']} s: {c['summary']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
