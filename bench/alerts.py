"""Alert detection on weeks of simulated traffic with labelled incidents: precision, recall, time to detect.

Loads WEEKS weeks of per-minute traffic (the daily and weekly rhythm of
app/simulate.py) in bulk, as the write contract would store it, projects the
signals projection, then steps the detector through the last EVAL_WEEKS weeks
every STEP simulated minutes. Incidents of the four kinds, at random hours
(06:00-22:00 UTC) and destinations, are labelled; an alert matches an incident
when its kind is one the incident explains and it opens between the incident's
start and 30 minutes after its end. Prints and saves the figures.

    PULSE_BENCH_WEEKS=8 PULSE_BENCH_EVAL_WEEKS=5 PULSE_BENCH_INCIDENTS=24 python -m bench.alerts [seed]
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
STEP = int(os.environ.get("PULSE_BENCH_STEP_MINUTES", "5"))
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
MEAN = (sum(DAILY) / 24) * (sum(WEEKLY) / 7)


@dataclass(frozen=True)
class Incident:
    kind: str
    destination: str
    starts: datetime
    minutes: int

    def active(self, at: datetime) -> bool:
        return self.starts <= at < self.starts + timedelta(minutes=self.minutes)


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
                total = rng.uniform(*PRICES[booking_type]) * (0.05 if kind == "price-bug" else 1)
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
                            "total_amount": f"{total:.2f}",
                            "currency": "USD",
                        },
                    )
                )
                failed = rng.random() < (0.6 if kind == "payment-failures" else 0.03)
                rows.append(
                    (
                        uuid.uuid4(),
                        "payment.failed" if failed else "payment.captured",
                        at + timedelta(seconds=30),
                        {"booking_id": booking_id, "amount": f"{total:.2f}", "currency": "USD"},
                    )
                )
                booked[destination].append(booking_id)
            cancel_rate = rate * level * 0.06 * (12 if kind == "cancellation-wave" else 1)
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
        at = start
        while at <= end:
            summary = await detect(conn, at)
            seconds.append(summary.seconds)
            at += timedelta(minutes=STEP)
    return seconds


def score(url: str, incidents: list[Incident], eval_start: datetime) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        alerts = conn.execute("select kind, subject, opened_at from analytics.alerts order by opened_at").fetchall()
    detected: dict[int, float] = {}
    true_positive = 0
    for kind, subject, opened_at in alerts:
        matched = False
        for n, incident in enumerate(incidents):
            window_end = incident.starts + timedelta(minutes=incident.minutes + 30)
            if kind in EXPLAINS[incident.kind] and incident.starts <= opened_at <= window_end:
                matched = True
                if f"destination={incident.destination}" in subject:
                    delay = (opened_at - incident.starts).total_seconds() / 60
                    detected[n] = min(detected.get(n, delay), delay)
        true_positive += matched
    false_alarms = len(alerts) - true_positive
    return {
        "alerts": len(alerts),
        "precision": round(true_positive / len(alerts), 3) if alerts else None,
        "recall": round(len(detected) / len(incidents), 3),
        "median_minutes_to_detect": statistics.median(detected.values()) if detected else None,
        "false_alarms_per_week": round(false_alarms / EVAL_WEEKS, 2),
        "missed": [
            f"{i.kind} {i.destination} {i.starts:%a %H:%M}" for n, i in enumerate(incidents) if n not in detected
        ],
        "false_alarms": [
            f"{k} {s} {o:%a %d %H:%M}"
            for k, s, o in alerts
            if not any(
                k in EXPLAINS[i.kind] and i.starts <= o <= i.starts + timedelta(minutes=i.minutes + 30)
                for i in incidents
            )
        ][:20],
    }


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = random.Random(seed)
    start = (datetime.now(UTC) - timedelta(weeks=WEEKS)).replace(hour=0, minute=0, second=0, microsecond=0)
    incidents = plan(rng, start)
    url = fresh_database()
    started = time.perf_counter()
    rows = traffic(rng, start, incidents)
    load(url, rows)
    loaded = time.perf_counter()
    asyncio.run(project(url))
    projected = time.perf_counter()
    eval_start = start + timedelta(weeks=WEEKS - EVAL_WEEKS)
    seconds = asyncio.run(step_detector(url, eval_start, start + timedelta(weeks=WEEKS) - timedelta(minutes=1)))
    figures = {
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
        **score(url, incidents, eval_start),
    }
    for name, value in figures.items():
        print(f"{name:28} {value}")
    out = PROJECT_ROOT / "bench" / "results" / f"alerts-seed{seed}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
