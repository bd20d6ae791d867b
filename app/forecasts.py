"""Forecasts over HTTP, and their schedule in the server (docs/forecasting.md).

GET /v1/forecast answers the bookings forecast of the latest refresh for the
dashboard's filters, with the actual bookings before it. The schedule runs
`pulse forecast run --if-older-than PULSE_FORECAST_INTERVAL` in a subprocess
(at a lower CPU priority) whenever a refresh is due: the models' CPU work
never runs in the server's event loop, and the subprocess's lock makes one
refresh run at a time whatever the number of server processes.
"""

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.auth import requires
from core.settings import PROJECT_ROOT, Settings
from core.sql import named_queries

log = logging.getLogger("pulse.forecast")

MAX_HORIZON = 90
DEFAULT_HORIZON = 30
# Days of actual bookings shown before the first day forecast.
ACTUAL_DAYS = 60
# The schedule looks at least this often whether a refresh is due.
CHECK_SECONDS = 300.0
# `pulse forecast run`'s exit code when another refresh holds the lock.
BUSY = 3
PARAMETERS = ("destination", "booking_type", "horizon")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _number(value: float) -> float:
    return round(float(value), 2)


def _note(row: dict[str, Any]) -> str | None:
    """What the dashboard says under the chart: why this forecast is not simply a fitted model's."""
    notes = []
    if row["reason"]:
        notes.append(row["reason"][0].upper() + row["reason"][1:] + ".")
    if row["reconciliation"] == "bottom_up":
        notes.append(
            "The sum of the destinations' forecasts (bottom-up)"
            + (f"; the interval width is the total's own model's ({row['base_model']})." if row["base_model"] else ".")
        )
    elif row["reconciliation"] == "scaled_to_total":
        notes.append("Scaled day by day so that the booking types add up to the overall forecast.")
    return " ".join(notes) or None


@requires("read")
async def get_forecast(request: Request) -> Response:
    """Bookings per business day: the latest forecast for the filters, and the actual series before it."""
    params = request.query_params
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        return _error(400, f"unknown parameters {unknown}; /v1/forecast takes {list(PARAMETERS)}")
    text = params.get("horizon", str(DEFAULT_HORIZON)).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_HORIZON:
        return _error(400, f"horizon is a number of days from 1 to {MAX_HORIZON}, not {text!r}")
    horizon = int(text)
    destination = params.get("destination") or None
    booking_type = params.get("booking_type") or None
    if destination and booking_type:
        return _error(
            404,
            "no forecast for a destination and a booking type together: forecasts are made overall, "
            "per destination and per booking type",
        )
    level = "destination" if destination else "booking_type" if booking_type else "total"
    queries = named_queries("forecasting.sql")
    filters = {"destination": destination, "booking_type": booking_type}
    async with request.state.pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        row = await (await cur.execute(queries["forecast_for"], {"level": level, **filters})).fetchone()
        points = []
        if row is not None:
            points = await (
                await cur.execute(queries["forecast_points"], {"series": row["series"], "horizon": horizon})
            ).fetchall()
        if not points:
            subject = {"total": "all bookings", "destination": f"destination {destination!r}"}.get(
                level, f"booking type {booking_type!r}"
            )
            why = f": {row['reason']}" if row is not None and row["reason"] else ""
            return _error(
                404, f"no forecast for {subject} yet{why}; forecasts are made on a schedule and by pulse forecast run"
            )
        first_day = points[0]["day"] - timedelta(days=ACTUAL_DAYS)
        actual = await (await cur.execute(queries["forecast_actuals"], {"first_day": first_day, **filters})).fetchall()
    return JSONResponse(
        {
            "series": row["series"],
            "model": row["model"],
            "generated_at": row["generated_at"].isoformat().replace("+00:00", "Z"),
            "points": [
                {
                    "day": point["day"].isoformat(),
                    **{key: _number(point[key]) for key in ("forecast", "lo80", "hi80", "lo95", "hi95")},
                }
                for point in points
            ],
            "actual": [{"day": a["day"].isoformat(), "value": a["bookings"]} for a in actual],
            "note": _note(row),
        }
    )


ROUTES = [Route("/v1/forecast", get_forecast)]


async def refresh_due(pool: AsyncConnectionPool[Any], older_than: float) -> bool:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(named_queries("forecasting.sql")["refresh_due"], {"seconds": older_than})
        ).fetchone()
    return bool(row and row[0])


def refresh_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """`pulse forecast run` as the schedule starts it: the command and its environment."""
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "forecast",
        "run",
        "--if-older-than",
        f"{settings.forecast_interval:g}",
        # Idle CPU class and one model process: the projections, the stream and PostgreSQL come first.
        "--background",
        "--jobs",
        "1",
    ]
    env = {
        **os.environ,
        "PULSE_DATABASE_URL": settings.database_url,
        "PULSE_ROLE_PREFIX": settings.role_prefix,
        "PULSE_TIMEZONE": settings.timezone,
        "PULSE_REPORTING_CURRENCY": settings.reporting_currency,
        # Its output comes back line by line through the server's log, in the server's format.
        "PULSE_LOG_FORMAT": "text",
    }
    return command, env


async def run_refresh(settings: Settings, stop: asyncio.Event) -> int | None:
    """Runs one `pulse forecast run` to its end (or until stop: then it is terminated); its exit code."""
    command, env = refresh_command(settings)
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    output = asyncio.ensure_future(process.communicate())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({output, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not output.done():
            process.terminate()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.shield(process.wait())
            output.cancel()
        stopped.cancel()
    if not output.done() or output.cancelled():
        return None
    stdout, stderr = output.result()
    for line in stdout.decode(errors="replace").splitlines():
        log.info("forecast refresh: %s", line)
    for line in stderr.decode(errors="replace").splitlines():
        if line.strip():
            log.warning("forecast refresh: %s", line)
    return process.returncode


async def schedule(pool: AsyncConnectionPool[Any], settings: Settings, stop: asyncio.Event) -> None:
    """Refreshes whenever the latest refresh of a kind is older than PULSE_FORECAST_INTERVAL."""
    interval = settings.forecast_interval
    while not stop.is_set():
        try:
            if await refresh_due(pool, interval):
                code = await run_refresh(settings, stop)
                if code not in (0, BUSY, None):
                    log.warning("forecast refresh failed with exit code %s (the next check retries)", code)
        except (psycopg.Error, OSError) as error:
            log.warning("forecast schedule: %s (the next check retries)", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(interval, CHECK_SECONDS))


def background_tasks(
    pool: AsyncConnectionPool[Any], settings: Settings, stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    return [schedule(pool, settings, stop)] if settings.forecast_interval else []
