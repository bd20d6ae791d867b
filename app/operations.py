"""Alerts, data quality and pipeline health over HTTP, and the background tasks behind them (docs/alerts.md).

Routes: GET /v1/alerts, POST /v1/alerts/{id}/ack and /resolve, GET /v1/dq,
GET /metrics (Prometheus), GET /healthz, GET /readyz. Tasks (in the server's
lifespan): the detector every PULSE_DETECTOR_INTERVAL seconds, the
data-quality checks every PULSE_DQ_INTERVAL, and webhook delivery.
"""

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app import dq, webhooks
from app.alerts import detect
from app.auth import requires
from core.settings import Settings
from core.sql import named_queries, query
from projections import ALL_PROJECTIONS

log = logging.getLogger("pulse.operations")

# Per process: `pulse serve --workers N` runs N processes, each with its own counters (docs/alerts.md).
REGISTRY = CollectorRegistry()
EVENTS = Counter("pulse_events_total", "Events posted, by outcome.", ["outcome"], registry=REGISTRY)
REQUESTS = Histogram("pulse_request_seconds", "HTTP request latency by route.", ["route", "method"], registry=REGISTRY)
STREAM_MESSAGES = Gauge(
    "pulse_stream_messages_sent", "Stream messages sent since the process started.", registry=REGISTRY
)
LISTEN_CONNECTS = Gauge(
    "pulse_listen_connects", "LISTEN connections made since start (1 + reconnects).", registry=REGISTRY
)
STREAM_CLIENTS = Gauge("pulse_stream_clients", "Connected stream clients.", registry=REGISTRY)
DETECTOR_SECONDS = Histogram("pulse_detector_seconds", "Duration of detector runs.", registry=REGISTRY)
BATCH_SECONDS = Histogram(
    "pulse_projection_batch_seconds",
    "Projection batch duration, from its start to its commit.",
    ["projection"],
    registry=REGISTRY,
)
BATCH_EVENTS = Histogram(
    "pulse_projection_batch_events",
    "Events per projection batch.",
    ["projection"],
    buckets=(1, 10, 100, 1000, 5000, 20000, 50000),
    registry=REGISTRY,
)
LAG_CAP = 10_000


class DatabaseGauges(Collector):
    """Gauges read from the database at scrape time, with cheap queries only."""

    def __init__(self) -> None:
        self.latest: list[GaugeMetricFamily] = []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return list(self.latest)

    async def refresh(self, pool: AsyncConnectionPool[Any]) -> None:
        lag_events = GaugeMetricFamily(
            "pulse_projection_lag_events", f"Events not yet applied (counted up to {LAG_CAP}).", labels=["projection"]
        )
        lag_seconds = GaugeMetricFamily(
            "pulse_projection_lag_seconds", "Age of the oldest event not yet applied.", labels=["projection"]
        )
        oldest = GaugeMetricFamily("pulse_oldest_transaction_seconds", "Age of the oldest open transaction.")
        alerts = GaugeMetricFamily("pulse_alerts_open", "Unresolved alerts by severity.", labels=["severity"])
        async with pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            for projection in ALL_PROJECTIONS:
                row = await (
                    await cur.execute(
                        named_queries("dq.sql")["projection_lag"], {"projection": projection.checkpoint, "cap": LAG_CAP}
                    )
                ).fetchone()
                if row is not None:
                    lag_events.add_metric([projection.name], row["events"])
                    lag_seconds.add_metric([projection.name], float(row["seconds"] or 0))
            row = await (await cur.execute(named_queries("dq.sql")["oldest_transaction"])).fetchone()
            oldest.add_metric([], float(row["seconds"]) if row and row["seconds"] is not None else 0.0)
            counts = {
                r["severity"]: r["alerts"]
                for r in await (await cur.execute(named_queries("alerts.sql")["alerts_open_by_severity"])).fetchall()
            }
            for severity in ("info", "warning", "critical"):
                alerts.add_metric([severity], counts.get(severity, 0))
        self.latest = [lag_events, lag_seconds, oldest, alerts]


DB_GAUGES = DatabaseGauges()
REGISTRY.register(DB_GAUGES)


@requires("read")
async def metrics(request: Request) -> Response:
    broadcaster = request.state.broadcaster
    STREAM_CLIENTS.set(len(broadcaster.subscribers))
    STREAM_MESSAGES.set(broadcaster.messages_sent)
    LISTEN_CONNECTS.set(getattr(request.state, "listener_connects", lambda: 0)())
    await DB_GAUGES.refresh(request.state.projector_pool)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    """The process is alive: nothing else is asked."""
    return PlainTextResponse("ok")


@functools.cache
def code_head() -> str | None:
    """The newest revision this code knows, read once (alembic loads every revision module to tell)."""
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    head: str | None = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    return head


async def readyz(request: Request) -> Response:
    """The database answers, migrations are at head, and no projection is failing."""
    problems = []
    try:
        async with request.state.projector_pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            queries = named_queries("operations.sql")
            version = await (await cur.execute(queries["applied_revision"])).fetchone()
            failing = await (await cur.execute(queries["failing_projections"])).fetchall()
    except psycopg.Error as error:
        log.warning("readyz: the database does not answer: %s", error)
        return JSONResponse({"ready": False, "problems": ["the database does not answer"]}, status_code=503)
    head = code_head()
    if version is None or version["version_num"] != head:
        problems.append(f"migrations at {version and version['version_num']}, head is {head}: run pulse migrate")
    problems += [f"projection {row['projection']} is failing" for row in failing]
    return JSONResponse({"ready": not problems, "problems": problems}, status_code=503 if problems else 200)


def _alert_json(row: dict[str, Any]) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    return {
        "id": row["id"],
        "opened_at": when(row["opened_at"]),
        "kind": row["kind"],
        "subject": row["subject"],
        "observed": None if row["observed"] is None else str(row["observed"]),
        "expected": None if row["expected"] is None else str(row["expected"]),
        "severity": row["severity"],
        "status": row["status"],
        "resolved_at": when(row["resolved_at"]),
        "details": row["details"],
        "acknowledged_at": when(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "resolved_by": row["resolved_by"],
    }


@requires("read")
async def list_alerts(request: Request) -> Response:
    async with request.state.pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        rows = await (await cur.execute(named_queries("alerts.sql")["list_alerts"], {"hours": 24})).fetchall()
    return JSONResponse({"alerts": [_alert_json(row) for row in rows]})


async def _change_alert(request: Request, action: str) -> Response:
    try:
        alert_id = int(request.path_params["id"])
    except ValueError:
        return JSONResponse({"error": "an alert id is a number"}, status_code=404)
    by = None
    body = await request.body()
    if body:
        try:
            payload = json.loads(body)
            by = str(payload.get("by"))[:200] if isinstance(payload, dict) and payload.get("by") else None
        except ValueError:
            return JSONResponse({"error": 'the body, if any, is JSON such as {"by": "ana"}'}, status_code=400)
    queries = named_queries("alerts.sql")
    async with request.state.projector_pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        if action == "ack":
            await cur.execute(queries["acknowledge_alert"], {"id": alert_id, "by": by})
        else:
            await cur.execute(queries["resolve_alert"], {"id": alert_id, "at": None, "by": by or "api"})
        row = await (await cur.execute(queries["alert_by_id"], {"id": alert_id})).fetchone()
    if row is None:
        return JSONResponse({"error": f"no alert {alert_id}"}, status_code=404)
    return JSONResponse(_alert_json(row))


@requires("admin")
async def acknowledge(request: Request) -> Response:
    """Acknowledges an open alert (an acknowledged or resolved one stays as it is); answers the alert."""
    return await _change_alert(request, "ack")


@requires("admin")
async def resolve(request: Request) -> Response:
    return await _change_alert(request, "resolve")


@requires("read")
async def get_dq(request: Request) -> Response:
    async with request.state.pool.connection() as conn:
        return JSONResponse(await dq.latest(conn))


ROUTES = [
    Route("/v1/alerts", list_alerts),
    Route("/v1/alerts/{id}/ack", acknowledge, methods=["POST"]),
    Route("/v1/alerts/{id}/resolve", resolve, methods=["POST"]),
    Route("/v1/dq", get_dq),
    Route("/metrics", metrics),
    Route("/healthz", healthz),
    Route("/readyz", readyz),
]


async def _every(seconds: float, stop: asyncio.Event, work: Any, name: str) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        if stop.is_set():
            return
        try:
            await work()
        except psycopg.Error as error:
            log.warning("%s failed (next run retries): %s", name, error)
        except Exception:
            # A bug in one check or rule must not take ingest and the stream down with it: say so loudly, go on.
            log.exception("%s failed (next run retries)", name)


def background_tasks(
    pool: AsyncConnectionPool[Any], settings: Settings, alerts_woken: asyncio.Event, stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    """The detector, the data-quality checks and webhook delivery, as the lifespan runs them."""
    tasks: list[Coroutine[Any, Any, None]] = []
    if settings.detector_interval:

        async def run_detector() -> None:
            started = time.perf_counter()
            async with pool.connection() as conn:
                await detect(conn)
            DETECTOR_SECONDS.observe(time.perf_counter() - started)

        tasks.append(_every(settings.detector_interval, stop, run_detector, "detector"))
    if settings.dq_interval:

        async def run_dq() -> None:
            # Once per interval whatever the number of server processes; the recompute once an hour.
            async with pool.connection() as conn, conn.transaction():
                cur = conn.cursor(row_factory=dict_row)
                due = await (
                    await cur.execute(named_queries("dq.sql")["dq_due"], {"seconds": settings.dq_interval * 0.9})
                ).fetchone()
                if due is None or not (due["mine"] and due["due"]):
                    return
                await dq.run_checks(conn, reconcile=due["reconcile"])

        tasks.append(_every(settings.dq_interval, stop, run_dq, "data-quality checks"))
    if settings.alert_webhooks:
        tasks.append(webhooks.run(pool, settings, alerts_woken, stop))
    return tasks


def count_ingest(counts: Mapping[str, int]) -> None:
    """Counts a request's events by status (accepted, duplicate, rejected): once per status, not per event."""
    for status, n in counts.items():
        if n:
            EVENTS.labels(status).inc(n)
    if counts.get("rejected"):
        EVENTS.labels("quarantined").inc(counts["rejected"])


def count_quarantined(n: int) -> None:
    EVENTS.labels("quarantined").inc(n)


def observe_batch(projection: str, events: int, seconds: float) -> None:
    """The projection runner's batch observer (projections/worker.py): fills the batch histograms."""
    BATCH_SECONDS.labels(projection).observe(seconds)
    BATCH_EVENTS.labels(projection).observe(events)


__all__ = ["ROUTES", "background_tasks", "count_ingest", "observe_batch", "query"]


class RequestTimer:
    """ASGI middleware: request latency per route template (not per raw path, so labels stay few)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in ("/v1/stream", "/metrics"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "other"
            REQUESTS.labels(name, scope["method"]).observe(time.perf_counter() - started)
