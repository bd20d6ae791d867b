"""Rebuild a projection from the event log into fresh tables and swap them in.

The live tables keep serving, and their worker keeps applying batches, while
the rebuild catches up in schema pulse_<name>_rebuild. The swap is one
transaction: it waits for the live worker's batch in flight, applies the last
events to the rebuild, renames the rebuild schema over the live one and
re-creates the analytics views with the grants they had. Readers see either
the old tables or the new.
"""

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from app.settings import Settings
from app.sql import analytics_objects, query
from projections.projection import Projection
from projections.worker import ProjectionWorker

log = logging.getLogger("pulse.replay")

# Rebuild batches: larger than live ones, since nobody waits on each.
REBUILD_BATCH_SIZE = 50_000


class ReplayRefused(Exception):
    """A replay would lose data: the log no longer holds every event."""


@dataclass(frozen=True)
class ReplayResult:
    events: int
    batches: int


async def replay(
    pool: AsyncConnectionPool[Any], projection: Projection, settings: Settings, stop: asyncio.Event | None = None
) -> ReplayResult:
    await _start(pool, projection)
    builder = ProjectionWorker(
        pool, projection, replace(settings, batch_size=max(settings.batch_size, REBUILD_BATCH_SIZE)), rebuild=True
    )
    events = batches = 0
    while not (stop and stop.is_set()):
        outcome = await builder.run_batch()
        if not outcome.events:
            break
        events += outcome.events
        batches += 1
        log.info("projection=%s rebuild: %d events so far", projection.name, events)
    if stop and stop.is_set():
        raise asyncio.CancelledError("stopped during a rebuild; it starts over next time")
    events += await _swap(pool, projection, builder)
    log.info("projection=%s rebuilt from %d events and swapped in", projection.name, events)
    return ReplayResult(events=events, batches=batches)


async def _start(pool: AsyncConnectionPool[Any], projection: Projection) -> None:
    """Creates empty rebuild tables and a rebuild checkpoint at the start of the log."""
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        cutoff = await (await cur.execute(query("retention_cutoff"))).fetchone()
        if cutoff and cutoff["dropped_before"] is not None:
            raise ReplayRefused(
                f"raw events before {cutoff['dropped_before']} were dropped by retention: "
                f"rebuilding {projection.name} from the log would lose them"
            )
        rebuild = f"{projection.name}.rebuild"
        await cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(projection.rebuild_schema)))
        await cur.execute(projection.create_tables(projection.rebuild_schema))
        await cur.execute("delete from pulse.projection_checkpoints where projection = %s", (rebuild,))
        await cur.execute(
            query("start_rebuild_checkpoint"),
            {"rebuild": rebuild, "projection": projection.name, "version": projection.version},
        )


async def _swap(pool: AsyncConnectionPool[Any], projection: Projection, builder: ProjectionWorker) -> int:
    """Applies the last events to the rebuild and makes it the live projection, atomically."""
    events = 0
    async with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        horizon = await (await cur.execute(query("read_horizon"))).fetchone()
        assert horizon is not None
        await cur.execute(query("lock_live_checkpoint"), {"projection": projection.name})
        while outcome := await builder.apply_batch(cur, horizon["horizon"]):
            if not outcome.events:
                break
            events += outcome.events
        grants = [row["statement"] for row in await (await cur.execute(query("analytics_grants"))).fetchall()]
        await cur.execute(
            sql.SQL("drop schema {live} cascade; alter schema {rebuild} rename to {live}").format(
                live=sql.Identifier(projection.schema), rebuild=sql.Identifier(projection.rebuild_schema)
            )
        )
        await cur.execute(analytics_objects())
        for grant in grants:
            await cur.execute(sql.SQL(grant))  # built by format() with %I quoting
        await cur.execute(
            query("take_over_checkpoint"), {"projection": projection.name, "rebuild": builder.checkpoint_name}
        )
        await cur.execute(query("notify_projection"), {"projection": projection.name})
    return events
