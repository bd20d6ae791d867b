"""Alert detection on eight weeks of simulated traffic with labelled incidents: precision, recall, time to detect.

Loads WEEKS weeks of per-minute traffic (the daily and weekly rhythm of
app/simulate.py) in bulk, projects the signals projection, then steps the
detector through the last EVAL_WEEKS weeks every STEP simulated minutes: 1, as
the server runs it every minute (PULSE_DETECTOR_INTERVAL). The weeks before
give the baseline (the detector needs 3). INCIDENTS incidents, the kinds of
`pulse simulate --incident` in turn, at random days, hours (06:00-22:00 UTC),
destinations and durations (30, 60 or 90 minutes), at least 4 hours apart:

- destination-outage: no bookings for the destination (its searches go on);
- price-bug: its prices divided by 100;
- cancellation-wave: 12 times its usual cancellations;
- payment-failures: 70 % of its payments fail.

Scoring. An alert is a true positive when its kind is one the incident
explains, its subject is the incident's destination or a series that holds it
(all, a booking type, a currency), and it opens between the incident's start
and 30 minutes after its end; every other alert is a false alarm. An incident
is detected when such an alert names its destination; time to detect runs from
the incident's start to the first one.

    PULSE_BENCH_DATABASE_URL=postgresql://... python -m bench.alerts [SEED ...]   # default seeds 1 2 3
    python -m bench.alerts --summarize 1 2 3   # seeds run apart (in parallel), summed up

Prints the figures of each seed and of all together, and writes them to
bench/results/alerts-seedN.json and bench/results/alerts.json.
"""

import asyncio
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from app.alerts import detect
from app.simulate import DAILY, WEEKLY
from bench.harness import fresh_database
from core.db import make_pool
from core.settings import PROJECT_ROOT, Settings
from projections import SIGNALS
from projections.worker import ProjectionWorker

WEEKS = int(os.environ.get("PULSE_BENCH_WEEKS", "8"))
EVAL_WEEKS = int(os.environ.get("PULSE_BENCH_EVAL_WEEKS", "5"))
INCIDENTS = int(os.environ.get("PULSE_BENCH_INCIDENTS", "24"))
STEP = int(os.environ.get("PULSE_BENCH_STEP_MINUTES", "1"))
RESULTS = PROJECT_ROOT / "bench" / "results" / "alerts.json"
# Bookings per minute at average intensity.
RATES = {"Lisbon": 2.0, "Paris": 2.0, "London": 1.5, "New York": 1.5, "Tokyo": 1.0, "Reykjavik": 0.2}
TYPES = ("flight", "hotel", "package", "car")
PRICES = {"flight": (80, 900), "hotel": (60, 600), "package": (400, 4000), "car": (30, 400)}
KINDS = ("destination-outage", "price-bug", "cancellation-wave", "payment-failures")
EXPLAINS = {
    "destination-outage": {"no_bookings", "bookings_drop", "revenue_drop", "conversion_drop"},
    "price-bug": {"booking_value_outlier", "revenue_drop"},
    "cancellation-wave": {"cancellations_spike"},
    "payment-failures": {"payment_failures_spike", "payment_shortfall"},
}
# How long after an incident ends an alert may still be its doing (hourly windows look back an hour).
AFTERMATH = timedelta(minutes=30)
BASE_FAILURES, INCIDENT_FAILURES = 0.03, 0.7
BASE_CANCELLATIONS, WAVE_FACTOR = 0.06, 12
PRICE_BUG_FACTOR = 0.01
MEAN = (sum(DAILY) / 24) * (sum(WEEKLY) / 7)


@dataclass(frozen=True)
class Incident:
    kind: str
    destination: str
    starts: datetime
    minutes: int

    def active(self, at: datetime) -> bool:
        return self.starts <= at < self.ends

    @property
    def ends(self) -> datetime:
        return self.starts + timedelta(minutes=self.minutes)

    def explains(self, kind: str, subject: str, opened_at: datetime) -> bool:
        holds_it = subject.startswith(f"destination={self.destination}") or not subject.startswith("destination=")
        return kind in EXPLAINS[self.kind] and holds_it and self.starts <= opened_at <= self.ends + AFTERMATH

    def names(self, subject: str) -> bool:
        return subject == f"destination={self.destination}" or subject.startswith(f"destination={self.destination} ")


def poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def plan(rng: random.Random, start: datetime) -> list[Incident]:
    eval_start = start + timedelta(weeks=WEEKS - EVAL_WEEKS)
    incidents: list[Incident] = []
    while len(incidents) < INCIDENTS:
        day = rng.randrange(EVAL_WEEKS * 7)
        at = eval_start + timedelta(days=day, hours=rng.randrange(6, 22), minutes=rng.randrange(60))
        candidate = Incident(KINDS[len(incidents) % 4], rng.choice(list(RATES)[:5]), at, rng.choice((30, 60, 90)))
        if all(abs((candidate.starts - other.starts).total_seconds()) > 4 * 3600 for other in incidents):
            incidents.append(candidate)
    return sorted(incidents, key=lambda i: i.starts)


def traffic(rng: random.Random, start: datetime, incidents: list[Incident]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    booked: dict[str, list[str]] = {d: [] for d in RATES}
    at = start
    end = start + timedelta(weeks=WEEKS)
    n = 0
    while at < end:
        level = DAILY[at.hour] * WEEKLY[at.weekday()] / MEAN
        for destination, rate in RATES.items():
            incident = next((i for i in incidents if i.destination == destination and i.active(at)), None)
            kind = incident.kind if incident else None
            for _ in range(poisson(rng, rate * level * 1.5)):
                rows.append((uuid.uuid4(), "search.performed", at, {"session_id": "s", "destination": destination}))
            bookings = 0 if kind == "destination-outage" else poisson(rng, rate * level)
            for _ in range(bookings):
                n += 1
                booking_type = TYPES[n % 4]
                total = rng.uniform(*PRICES[booking_type]) * (PRICE_BUG_FACTOR if kind == "price-bug" else 1)
                booking_id = f"b{n}"
                rows.append(
                    (
                        uuid.uuid4(),
                        "booking.created",
                        at,
                        {
                            "booking_id": booking_id,
                            "customer_id": "c",
                            "destination": destination,
                            "booking_type": booking_type,
                            "total_amount": f"{max(total, 0.01):.2f}",
                            "currency": "USD",
                        },
                    )
                )
                failed = rng.random() < (INCIDENT_FAILURES if kind == "payment-failures" else BASE_FAILURES)
                rows.append(
                    (
                        uuid.uuid4(),
                        "payment.failed" if failed else "payment.captured",
                        at + timedelta(seconds=30),
                        {"booking_id": booking_id, "amount": f"{max(total, 0.01):.2f}", "currency": "USD"},
                    )
                )
                booked[destination].append(booking_id)
            cancel_rate = rate * level * BASE_CANCELLATIONS * (WAVE_FACTOR if kind == "cancellation-wave" else 1)
            for _ in range(min(poisson(rng, cancel_rate), len(booked[destination]))):
                pool = booked[destination]
                rows.append(
                    (
                        uuid.uuid4(),
                        "booking.cancelled",
                        at + timedelta(seconds=45),
                        {"booking_id": pool.pop(rng.randrange(max(0, len(pool) - 2000), len(pool)))},
                    )
                )
        at += timedelta(minutes=1)
    return rows


def load(url: str, rows: list[tuple[Any, ...]]) -> None:
    """Bulk, as an import would: events, their ids and the bookings they create (the write contract's tables)."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("copy pulse.event_ids (event_id) from stdin") as copy:
            for row in rows:
                copy.write_row((row[0],))
        with cur.copy("copy pulse.events (event_id, type, occurred_at, received_at, data) from stdin") as copy:
            for event_id, kind, at, data in rows:
                copy.write_row((event_id, kind, at, at, json.dumps(data)))
        cur.execute(
            "insert into pulse.booking_ids select data->>'booking_id', event_id from pulse.events "
            "where type = 'booking.created'"
        )


async def project(url: str) -> None:
    async with make_pool(url, max_size=2) as pool:
        worker = ProjectionWorker(pool, SIGNALS, Settings(database_url=url, batch_size=50000))
        await worker.ensure_checkpoint()
        while (await worker.run_batch()).events:
            pass


async def step_detector(url: str, start: datetime, end: datetime) -> list[float]:
    seconds = []
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("set jit = off")  # as the server's pools run (core/db.py make_pool)
        await conn.commit()
        at = start
        while at <= end:
            summary = await detect(conn, at)
            seconds.append(summary.seconds)
            at += timedelta(minutes=STEP)
    return seconds


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def score(alerts: list[tuple[str, str, datetime]], incidents: list[Incident]) -> dict[str, Any]:
    """Precision, recall, time to detect and false alarms of the alerts (kind, subject, opened_at)."""
    delays: dict[int, float] = {}
    true_positives = 0
    false_alarms = []
    for kind, subject, opened_at in alerts:
        explaining = [n for n, i in enumerate(incidents) if i.explains(kind, subject, opened_at)]
        if not explaining:
            false_alarms.append(f"{kind} {subject} {opened_at:%a %d %H:%M}")
            continue
        true_positives += 1
        for n in explaining:
            if incidents[n].names(subject):
                delay = (opened_at - incidents[n].starts).total_seconds() / 60
                delays[n] = min(delays.get(n, delay), delay)
    by_kind = {}
    for kind in KINDS:
        numbers = [n for n, i in enumerate(incidents) if i.kind == kind]
        found = [delays[n] for n in numbers if n in delays]
        by_kind[kind] = {
            "incidents": len(numbers),
            "detected": len(found),
            "median_minutes_to_detect": median(found),
            "max_minutes_to_detect": max(found, default=None),
        }
    return {
        "alerts": len(alerts),
        "true_positive_alerts": true_positives,
        "precision": round(true_positives / len(alerts), 3) if alerts else None,
        "recall": round(len(delays) / len(incidents), 3),
        "median_minutes_to_detect": median(list(delays.values())),
        "p90_minutes_to_detect": sorted(delays.values())[int(0.9 * (len(delays) - 1))] if delays else None,
        "false_alarms_per_week": round(len(false_alarms) / EVAL_WEEKS, 2),
        "by_kind": by_kind,
        "incidents_detected": [
            {
                "kind": i.kind,
                "destination": i.destination,
                "starts": f"{i.starts:%a %H:%M}",
                "minutes": i.minutes,
                "minutes_to_detect": delays.get(n),
            }
            for n, i in enumerate(incidents)
        ],
        "false_alarms": false_alarms[:30],
    }


def run(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    start = (datetime.now(UTC) - timedelta(weeks=WEEKS)).replace(hour=0, minute=0, second=0, microsecond=0)
    incidents = plan(rng, start)
    url = fresh_database(name=f"pulse_bench_alerts_{seed}")
    started = time.perf_counter()
    rows = traffic(rng, start, incidents)
    load(url, rows)
    loaded = time.perf_counter()
    asyncio.run(project(url))
    projected = time.perf_counter()
    eval_start = start + timedelta(weeks=WEEKS - EVAL_WEEKS)
    seconds = asyncio.run(step_detector(url, eval_start, start + timedelta(weeks=WEEKS) - timedelta(minutes=1)))
    with psycopg.connect(url) as conn:
        alerts = conn.execute("select kind, subject, opened_at from analytics.alerts order by opened_at").fetchall()
    return {
        "seed": seed,
        "weeks": WEEKS,
        "evaluated_weeks": EVAL_WEEKS,
        "step_minutes": STEP,
        "events": len(rows),
        "incidents": len(incidents),
        "load_seconds": round(loaded - started, 1),
        "project_seconds": round(projected - loaded, 1),
        "detector_runs": len(seconds),
        "detector_median_ms": round(statistics.median(seconds) * 1000, 1),
        "detector_p95_ms": round(sorted(seconds)[int(len(seconds) * 0.95)] * 1000, 1),
        **score(alerts, incidents),
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """All seeds together: alerts and incidents pooled."""
    alerts = sum(r["alerts"] for r in runs)
    delays = [
        i["minutes_to_detect"] for r in runs for i in r["incidents_detected"] if i["minutes_to_detect"] is not None
    ]
    incidents = sum(r["incidents"] for r in runs)
    return {
        "seeds": [r["seed"] for r in runs],
        "incidents": incidents,
        "alerts": alerts,
        "precision": round(sum(r["true_positive_alerts"] for r in runs) / alerts, 3) if alerts else None,
        "recall": round(len(delays) / incidents, 3),
        "median_minutes_to_detect": median(delays),
        "false_alarms_per_week": round(
            sum(r["false_alarms_per_week"] * r["evaluated_weeks"] for r in runs)
            / sum(r["evaluated_weeks"] for r in runs),
            2,
        ),
        "by_kind": {
            kind: {
                "incidents": sum(r["by_kind"][kind]["incidents"] for r in runs),
                "detected": sum(r["by_kind"][kind]["detected"] for r in runs),
                "median_minutes_to_detect": median(
                    [
                        i["minutes_to_detect"]
                        for r in runs
                        for i in r["incidents_detected"]
                        if i["kind"] == kind and i["minutes_to_detect"] is not None
                    ]
                ),
            }
            for kind in KINDS
        },
    }


def show(figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        if name == "incidents_detected":
            for incident in value:
                print(f"{'':4}{incident}")
        else:
            print(f"{name:28} {value}")


def main() -> None:
    args = sys.argv[1:]
    summarize_only = "--summarize" in args
    seeds = [int(arg) for arg in args if arg != "--summarize"] or [1, 2, 3]
    RESULTS.parent.mkdir(exist_ok=True)
    runs = []
    for seed in seeds:
        per_seed = RESULTS.with_name(f"alerts-seed{seed}.json")
        if summarize_only:
            runs.append(json.loads(per_seed.read_text()))
            continue
        figures = run(seed)
        show(figures)
        per_seed.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        runs.append(figures)
        print()
    total = summary(runs)
    print("all seeds")
    show(total)
    RESULTS.write_text(json.dumps({"summary": total, "runs": runs}, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
