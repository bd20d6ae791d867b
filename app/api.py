"""The HTTP API: ingest, schema, status, the live stream and the dashboard page."""

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict
from urllib.parse import urlencode

import anyio
import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from app import forecasts, ingest, operations
from app.auth import Authenticator, parse_token, requires, set_ticket
from app.ingest import BadBody
from app.logs import RequestLog, configure_logging
from app.metrics import HOURLY_WINDOW, MAX_HOURLY_RANGE, TOPIC_PROJECTIONS, Filters, dimensions, read_topics
from app.openapi import get_openapi
from app.stream import Broadcaster, parse_time, stream, wait_until_passed
from core.db import PROJECTIONS_CHANNEL, Listener, make_pool
from core.events import Reason, json_schema
from core.log import Checkpoint, LogPosition
from core.settings import Settings
from core.sql import query
from projections import ALL_PROJECTIONS
from projections.runner import ProjectionRunner

log = logging.getLogger("pulse.api")
# Bodies above this size are parsed and validated in a worker thread.
OFF_LOOP_BYTES = 64 * 1024
# Seconds a client should wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 2
# /v1/status counts events and lag exactly up to this, and estimates beyond: never a count of the whole log.
STATUS_COUNT_CAP = 10_000
SNAPSHOT_TOPICS = {
    "kpis": "kpis",
    "hourly": "hourly",
    "top-destinations": "top_destinations",
    "booking-types": "booking_types",
    "funnel": "funnel",
}


class State(TypedDict):
    settings: Settings
    # Reads for dashboards (stream, snapshots) and token checks, as the dashboard role.
    pool: AsyncConnectionPool[Any]
    # POST /v1/events, as the ingest role.
    ingest_pool: AsyncConnectionPool[Any]
    # The projections and /v1/status, as the projector role.
    projector_pool: AsyncConnectionPool[Any]
    runner: ProjectionRunner
    broadcaster: Broadcaster
    listener_connects: Callable[[], int]
    authenticator: Authenticator


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = BadBody(413, f"body is larger than the limit of {limit} bytes; send fewer events per request")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@requires("ingest")
async def post_events(request: Request) -> Response:
    settings: Settings = request.state.settings
    pool: AsyncConnectionPool[Any] = request.state.ingest_pool
    content_type = request.headers.get("content-type")
    try:
        body = await read_body(request, settings.max_body_bytes)
    except BadBody as bad:
        return JSONResponse({"error": bad.message}, status_code=bad.status)
    try:
        if len(body) > OFF_LOOP_BYTES:
            # Parsing and validating megabytes takes CPU seconds: not on the loop every stream shares.
            items = await anyio.to_thread.run_sync(ingest.parse_and_validate, body, content_type)
        else:
            items = ingest.parse_and_validate(body, content_type)
    except BadBody as bad:
        async with pool.connection() as conn:
            await ingest.quarantine(conn, [body], [[Reason(field="", message=bad.message)]], content_type)
        operations.count_quarantined(1)
        return JSONResponse({"error": bad.message, "quarantined": True}, status_code=bad.status)
    async with pool.connection() as conn:
        last = await ingest.store(conn, items, content_type)
    counts: Counter[str] = Counter(item.status for item in items)
    operations.count_ingest(counts)
    if last is not None:
        request.state.runner.wake()
    if counts["rejected"] == 0:
        status_code = 200
    elif counts["rejected"] == len(items):
        status_code = 422
    else:
        status_code = 207
    answer = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "position": str(last) if last else None,
        "results": [item.result(index) for index, item in enumerate(items)],
    }
    # msgspec: under the ingest bench, the json module's encoding of the results was 5% of the server's time.
    return Response(
        msgspec.json.encode(answer),
        media_type="application/json",
        status_code=status_code,
    )


async def get_schema(request: Request) -> Response:
    return JSONResponse(json_schema(), media_type="application/schema+json")


@requires("read")
async def get_status(request: Request) -> Response:
    """Event count, and per projection its checkpoint and lag; ?position=X/Y adds whether each has passed it."""
    pool: AsyncConnectionPool[Any] = request.state.projector_pool
    wanted: LogPosition | None = None
    if "position" in request.query_params:
        try:
            wanted = LogPosition.parse(request.query_params["position"])
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        totals = await (await cur.execute(query("log_totals"), {"cap": STATUS_COUNT_CAP})).fetchone()
        assert totals is not None
        live = [projection.checkpoint for projection in ALL_PROJECTIONS]
        rebuilds = [projection.rebuild_checkpoint for projection in ALL_PROJECTIONS]
        await cur.execute(
            query("projection_statuses"),
            {"projections": live + rebuilds, "lag_for": live, "cap": STATUS_COUNT_CAP},
        )
        rows = {row["projection"]: row for row in await cur.fetchall()}
        projections: dict[str, Any] = {}
        for projection in ALL_PROJECTIONS:
            row = rows.get(projection.checkpoint)
            if row is None:
                projections[projection.name] = {"state": "not started"}
                continue
            checkpoint = Checkpoint.from_row(row)
            report: dict[str, Any] = {
                "state": "failing" if checkpoint.failing else "running",
                "version": checkpoint.version,
                "code_version": projection.version,
                "checkpoint": str(checkpoint.position),
                "lag": row["lag"],
                # Counted up to STATUS_COUNT_CAP: false means "at least lag".
                "lag_exact": row["lag"] < STATUS_COUNT_CAP,
                "batches": checkpoint.batch_no,
                "events_projected": checkpoint.events_projected,
                "updated_at": checkpoint.updated_at.isoformat(),
                "last_error": checkpoint.last_error,
                "last_error_at": checkpoint.last_error_at and checkpoint.last_error_at.isoformat(),
                # Set once the failure is narrowed down to one event: the projection waits before it.
                "stuck_at_event_id": checkpoint.last_error_event_id and str(checkpoint.last_error_event_id),
            }
            if wanted is not None:
                report["caught_up"] = checkpoint.position >= wanted
            rebuild_row = rows.get(projection.rebuild_checkpoint)
            if rebuild_row is not None:
                # A replay under way (or interrupted): its progress, and what stops it.
                rebuild = Checkpoint.from_row(rebuild_row)
                report["rebuild"] = {
                    "version": rebuild.version,
                    "checkpoint": str(rebuild.position),
                    "events_projected": rebuild.events_projected,
                    "last_error": rebuild.last_error,
                    "stuck_at_event_id": rebuild.last_error_event_id and str(rebuild.last_error_event_id),
                }
            projections[projection.name] = report
    broadcaster: Broadcaster = request.state.broadcaster
    return JSONResponse(
        {
            "stream": {"clients": len(broadcaster.subscribers)},
            "events": totals["events"],
            "events_estimated": totals["events_estimated"],
            "quarantined": totals["quarantined"],
            "timescaledb": totals["timescaledb"],
            "projections": projections,
        }
    )


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


@requires("read")
async def get_metric(request: Request) -> Response:
    """A JSON snapshot: the stream's message for one topic and the filters asked for."""
    pool: AsyncConnectionPool[Any] = request.state.pool
    name = request.path_params["name"]
    if name not in SNAPSHOT_TOPICS:
        known = ", ".join([*SNAPSHOT_TOPICS, "dimensions"])
        return _error(404, f"no snapshot named {name!r}; there are: {known}")
    topic = SNAPSHOT_TOPICS[name]
    allowed = {"destination", "booking_type", "after", *(("from", "to") if topic == "hourly" else ())}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        return _error(400, f"unknown parameters {unknown}; /v1/metrics/{name} takes {sorted(allowed)}")
    params = request.query_params
    filters, problems = Filters.from_query(params)
    if problems:
        return _error(400, "; ".join(problems))
    hourly_range = None
    try:
        if "from" in params or "to" in params:
            end = parse_time(params["to"], "to") if "to" in params else datetime.now(UTC)
            start = parse_time(params["from"], "from") if "from" in params else end - HOURLY_WINDOW
            if not timedelta(0) < end - start <= MAX_HOURLY_RANGE:
                raise ValueError(f"from must be before to, and at most {MAX_HOURLY_RANGE.days} days before it")
            hourly_range = (start, end)
        after = LogPosition.parse(params["after"]) if "after" in params else None
    except ValueError as error:
        return _error(400, str(error))
    timeout = request.state.settings.read_your_writes_timeout
    if after is not None and not await wait_until_passed(pool, TOPIC_PROJECTIONS[topic], after, timeout):
        return _error(504, f"the projections did not pass {after} within {timeout:g} s; ask again")
    async with pool.connection() as conn:
        _, messages = await read_topics(conn, [topic], filters, hourly_range=hourly_range)
    return Response(messages[topic].json, media_type="application/json")


@requires("read")
async def get_dimensions(request: Request) -> Response:
    pool: AsyncConnectionPool[Any] = request.state.pool
    async with pool.connection() as conn:
        return JSONResponse(await dimensions(conn))


async def dashboard(request: Request) -> Response:
    """The dashboard page. Opened as /?token=TOKEN, it swaps the token for a ticket cookie and drops it from the URL."""
    settings: Settings = request.state.settings
    if "token" in request.query_params and settings.auth != "off":
        return await sign_in(request)
    index = settings.dashboard_dir / "index.html"
    if not index.is_file():
        return PlainTextResponse(
            f"The dashboard is not built ({index} is missing): run `make setup`, which builds web/.", status_code=404
        )
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})


async def sign_in(request: Request) -> Response:
    authenticator: Authenticator = request.state.authenticator
    parsed = parse_token(request.query_params["token"])
    scopes = await authenticator.token_scopes(*parsed) if parsed else None
    if parsed is None or scopes is None or not {"read", "admin"} & set(scopes):
        return PlainTextResponse("This link's token is unknown, revoked, or may not read: ask for a new one.", 401)
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
    response = RedirectResponse("/" + (f"?{urlencode(kept)}" if kept else ""), status_code=303)
    set_ticket(response, authenticator, parsed[0], request)
    return response


async def database_refused_input(request: Request, error: Exception) -> Response:
    """A value the database cannot take that validation let through: the client's to fix, never a 500."""
    log.warning("%s %s: the database refused a value: %s", request.method, request.url.path, error)
    return _error(400, "a parameter holds a value the database cannot take (a NUL character, say); nothing was stored")


async def database_unavailable(request: Request, error: Exception) -> Response:
    """The database is restarting, unreachable, or every connection is busy: retry shortly."""
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, error)
    return _error(
        503,
        "the database is not available right now; nothing of this request was stored unless a retry says duplicate",
        **{"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def collect_garbage_rarely() -> None:
    """Fewer full garbage collections, and none of the objects of the imports: for a server process.

    With 500 stream clients a server process holds about 240,000 objects, and CPython's defaults ran a
    full collection of them every ~6 s, each pausing the event loop (ingest, projections and every stream)
    for 100-130 ms: the stream's p99. Young collections now wait for 50,000 allocations instead of 700,
    so full ones come far less often (none in a 25 s run with 500 clients); cyclic garbage is still
    collected. Called where a process starts serving, not by create_app: a process that builds apps for
    other reasons (the tests) keeps its own garbage collection.
    """
    gc.collect()  # what the imports left as garbage is collected, not frozen
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _exit_process() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def create_app(settings: Settings | None = None, on_fatal: Callable[[], None] = _exit_process) -> Starlette:
    """The ASGI app. Its lifespan opens the pool and runs workers, listener and broadcaster.

    on_fatal runs when a background task dies of an unexpected error; by
    default the process stops so that its supervisor restarts it.
    """
    if settings is None:
        # A process of its own (pulse serve --workers N starts each with this factory): its own log setup and
        # garbage collection too.
        settings = Settings.from_env()
        configure_logging(settings.log_format)
        collect_garbage_rarely()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        # Each job acts as the least database role it needs.
        pool = make_pool(
            settings.database_url,
            settings.pool_max_size,
            timeout=settings.pool_timeout,
            role=settings.role("dashboard"),
            statement_timeout="30s",
        )
        ingest_pool = make_pool(
            settings.database_url,
            settings.pool_max_size,
            timeout=settings.pool_timeout,
            role=settings.role("ingest"),
            statement_timeout="30s",
        )
        # The projections have their own connections: busy requests never starve them.
        projector_pool = make_pool(
            settings.database_url,
            max_size=2 * len(ALL_PROJECTIONS) + 4,
            role=settings.role("projector"),
            statement_timeout="10min",
        )
        pools = (pool, ingest_pool, projector_pool)
        for each in pools:
            await each.open(wait=True, timeout=30)
        async with projector_pool.connection() as conn:
            # The views read the business time zone and currency from the database.
            try:
                await conn.execute(
                    query("store_settings"),
                    {"timezone": settings.timezone, "reporting_currency": settings.reporting_currency},
                )
            except psycopg.errors.RaiseException as refused:
                for each in pools:
                    await each.close()
                log.critical("PULSE_TIMEZONE: %s; %s", refused.diag.message_primary, refused.diag.message_hint)
                raise SystemExit(2) from None
        authenticator = Authenticator(pool, settings)
        await authenticator.load_key()
        # /readyz compares the database's revision with the code's newest. Reading it loads every
        # revision module: 200 ms, which the first /readyz of a process spent with the event loop blocked.
        operations.code_head()
        runner = ProjectionRunner(projector_pool, ALL_PROJECTIONS, settings, on_batch=operations.observe_batch)
        broadcaster = Broadcaster(pool, settings)
        alerts_woken = asyncio.Event()

        def woken() -> None:
            broadcaster.changed.set()
            alerts_woken.set()

        listener = Listener(settings.database_url, PROJECTIONS_CHANNEL, woken)
        stop = asyncio.Event()
        side_tasks = [
            asyncio.create_task(listener.run(stop), name="listener"),
            asyncio.create_task(broadcaster.run(stop), name="broadcaster"),
        ]
        # The alert detector, data-quality checks and webhook delivery (app/operations.py).
        for number, work in enumerate(operations.background_tasks(projector_pool, settings, alerts_woken, stop)):
            side_tasks.append(asyncio.create_task(work, name=f"alerting:{number}"))
        # Forecast refreshes, run as `pulse forecast run` in a subprocess when due (app/forecasts.py).
        for work in forecasts.background_tasks(projector_pool, settings, stop):
            side_tasks.append(asyncio.create_task(work, name="forecasts"))

        def watch(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                log.critical("task %s died", task.get_name(), exc_info=task.exception())
                on_fatal()

        for task in side_tasks:
            task.add_done_callback(watch)
        if settings.serve_projections:
            runner.start()
        runner_failed = asyncio.create_task(runner.failed.wait(), name="runner monitor")

        def runner_died(task: asyncio.Task[bool]) -> None:
            if not task.cancelled():
                on_fatal()

        runner_failed.add_done_callback(runner_died)
        try:
            yield {
                "settings": settings,
                "pool": pool,
                "ingest_pool": ingest_pool,
                "projector_pool": projector_pool,
                "runner": runner,
                "broadcaster": broadcaster,
                "listener_connects": lambda: listener.connects,
                "authenticator": authenticator,
            }
        finally:
            runner_failed.cancel()
            stop.set()
            broadcaster.close()
            await runner.stop()
            for task in side_tasks:
                task.cancel()
            await asyncio.gather(*side_tasks, return_exceptions=True)
            for each in pools:
                await each.close()

    return Starlette(
        routes=[
            Route("/", dashboard),
            Mount("/assets", app=StaticFiles(directory=settings.dashboard_dir / "assets", check_dir=False)),
            Route("/v1/events", post_events, methods=["POST"]),
            Route("/v1/schema", get_schema),
            Route("/v1/status", get_status),
            Route("/v1/stream", stream),
            Route("/v1/metrics/dimensions", get_dimensions),
            Route("/v1/metrics/{name}", get_metric),
            Route("/v1/openapi.json", get_openapi),
            *operations.ROUTES,
            *forecasts.ROUTES,
        ],
        middleware=[
            Middleware(operations.RequestTimer),
            *([Middleware(RequestLog)] if settings.log_requests else []),
            *(
                [Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_headers=["*"])]
                if settings.cors_origins
                else []
            ),
        ],
        exception_handlers={
            psycopg.OperationalError: database_unavailable,
            psycopg.InterfaceError: database_unavailable,
            psycopg.DataError: database_refused_input,
        },
        lifespan=lifespan,
    )
