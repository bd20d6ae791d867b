"""Rebuild a projection from the event log into fresh tables and swap them in.

The live tables keep serving, and their worker keeps applying batches, while
the rebuild catches up in schema pulse_<name>_rebuild. The swap is one
transaction: it waits for the live worker's batch in flight, applies the last
events to the rebuild, renames the rebuild schema over the live one and
re-creates the analytics views with the grants they had. Readers see either
the old tables or the new.

One replay per projection runs at a time, never alongside pulse retention
(advisory locks held for the whole replay). An interrupted replay resumes
where it stopped; a poison event stops it like a live projection, and the
error shows on the projection's rebuild checkpoint in GET /v1/status.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from core.db import PROJECTIONS_CHANNEL
from core.settings import Settings
from core.sql import query, view_names, views_script
from projections.projection import Projection
from projections.worker import ProjectionWorker

log = logging.getLogger("pulse.replay")

# Rebuild batches: larger than live ones, since nobody waits on each.
REBUILD_BATCH_SIZE = 50_000
# The swap waits this long for a lock before it gives way to readers and retries.
SWAP_LOCK_TIMEOUT = "5s"
SWAP_ATTEMPTS = 6


class ReplayRefused(Exception):
    """The replay cannot run now, or would lose data."""


class ReplayBusy(ReplayRefused):
    """Another replay of the same projection is running (in another server process, say)."""


@dataclass(frozen=True)
class ReplayResult:
    events: int
    resumed: bool


async def replay(
    pool: AsyncConnectionPool[Any], projection: Projection, settings: Settings, stop: asyncio.Event | None = None
) -> ReplayResult:
    stop = stop or asyncio.Event()
    # The locks live as long as this connection: a crashed replay releases them.
    async with await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True) as locks:
        row = await (await locks.execute(query("take_replay_locks"), {"projection": projection.name})).fetchone()
        assert row is not None
        if not row[0]:
            raise ReplayBusy(f"a replay of {projection.name} is already running")
        if not row[1]:
            raise ReplayRefused("pulse retention is running: replay once it is done")
        resumed = await _start(pool, projection)
        builder = ProjectionWorker(
            pool,
            projection,
            settings.model_copy(update={"batch_size": max(settings.batch_size, REBUILD_BATCH_SIZE)}),
            rebuild=True,
        )
        events = 0
        while not stop.is_set():
            outcome = await builder.apply_next()
            if outcome is None:
                await builder.pause(builder.retry_delay, stop)
                continue
            if not outcome.events:
                break
            events += outcome.events
            log.info("projection=%s rebuild: %d events so far", projection.name, events)
        if stop.is_set():
            raise asyncio.CancelledError("stopped during a rebuild; the next replay resumes it")
        events += await _swap_when_possible(pool, projection, builder, stop)
    log.info("projection=%s rebuilt from %d events and swapped in", projection.name, events)
    return ReplayResult(events=events, resumed=resumed)


async def _start(pool: AsyncConnectionPool[Any], projection: Projection) -> bool:
    """Creates empty rebuild tables at the start of the log, or finds an interrupted rebuild; True if resumed."""
    rebuild = projection.rebuild_checkpoint
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        cutoff = await (await cur.execute(query("retention_cutoff"))).fetchone()
        if cutoff and cutoff["dropped_before"] is not None:
            raise ReplayRefused(
                f"raw events before {cutoff['dropped_before']} were dropped by retention: "
                f"rebuilding {projection.name} from the log would lose them"
            )
        found = await (
            await cur.execute(
                query("rebuild_in_progress"),
                {"rebuild": rebuild, "version": projection.version, "schema": projection.rebuild_schema},
            )
        ).fetchone()
        if found and found["resumable"]:
            log.info("projection=%s resuming the rebuild an earlier replay left", projection.name)
            return True
        await cur.execute(query("prepare_rebuild_schema"), {"schema": projection.schema})
        await cur.execute(projection.create_tables(projection.rebuild_schema, with_schema=False))
        await cur.execute(query("forget_checkpoint"), {"projection": rebuild})
        await cur.execute(
            query("start_rebuild_checkpoint"),
            {"rebuild": rebuild, "projection": projection.checkpoint, "version": projection.version},
        )
    return False


async def _swap_when_possible(
    pool: AsyncConnectionPool[Any], projection: Projection, builder: ProjectionWorker, stop: asyncio.Event
) -> int:
    """Swaps, giving way to long-running readers and retrying, rather than stalling everyone behind them."""
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            return await _swap(pool, projection, builder)
        except psycopg.errors.LockNotAvailable:
            log.warning(
                "projection=%s swap waited %s for locks (attempt %d)", projection.name, SWAP_LOCK_TIMEOUT, attempt
            )
            await builder.pause(float(attempt), stop)
    raise ReplayRefused(
        f"could not lock {projection.schema} for the swap in {SWAP_ATTEMPTS} attempts: long queries are reading it; "
        "the rebuild is kept and the next replay resumes it"
    )


async def _swap(pool: AsyncConnectionPool[Any], projection: Projection, builder: ProjectionWorker) -> int:
    """Applies the last events to the rebuild and makes it the live projection, atomically."""
    events = 0
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        horizon = await (await cur.execute(query("read_horizon"))).fetchone()
        assert horizon is not None
        await cur.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(SWAP_LOCK_TIMEOUT)))
        # A projection no worker ever ran has no checkpoint yet: the take-over below needs one to move, or the
        # workers would later start at the beginning of the log and apply every event again on the rebuild.
        await cur.execute(
            query("ensure_checkpoint"),
            {"projection": projection.checkpoint, "version": projection.version, "batch_no": 0},
        )
        await cur.execute(query("lock_live_checkpoint"), {"projection": projection.checkpoint})
        while outcome := await builder.apply_batch(cur, horizon["horizon"]):
            if not outcome.events:
                break
            events += outcome.events
        others = await (
            await cur.execute(query("views_a_swap_would_drop"), {"schema": projection.schema, "ours": view_names()})
        ).fetchall()
        if others:
            names = ", ".join(row["name"] for row in others)
            raise ReplayRefused(f"swapping {projection.schema} would drop views Booking Pulse does not own: {names}")
        grants = [row["statement"] for row in await (await cur.execute(query("analytics_grants"))).fetchall()]
        await cur.execute(query("swap_rebuild_schema"), {"schema": projection.schema})
        await cur.execute(views_script())
        for grant in grants:
            await cur.execute(sql.SQL(grant))  # built by format() with %I quoting
        await cur.execute(
            query("take_over_checkpoint"), {"projection": projection.checkpoint, "rebuild": builder.checkpoint_name}
        )
        await cur.execute(
            query("notify_projection"), {"channel": PROJECTIONS_CHANNEL, "projection": projection.checkpoint}
        )
    return events
