"""Projection workers: read the log in commit order, apply it exactly once.

Each batch is one transaction: lock the checkpoint, aggregate the events after
it straight from pulse.events, upsert the rollups, move the checkpoint, NOTIFY.
A worker killed at any instant leaves either the whole batch or none of it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncCursor, sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from app.settings import Settings
from app.sql import query
from projections.projection import Projection

log = logging.getLogger("pulse.projections")

# Catching up on a backlog, batches grow up to this many times PULSE_BATCH_SIZE.
BACKLOG_BATCH_FACTOR = 8


@dataclass(frozen=True)
class BatchOutcome:
    events: int
    # Transactions were running, so events may be waiting just above the horizon.
    writers_running: bool
    # Another worker holds this projection's checkpoint.
    locked_elsewhere: bool = False
    # The checkpoint was written by another version of the projection.
    other_version: int | None = None


class ProjectionWorker:
    """Applies one projection's batches, to its live tables or, during a replay, to a rebuild.

    A failing batch is retried with half as many events, down to one: the
    projection then stops just before the event it cannot apply, reports it,
    and retries it with backoff. It never skips an event.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        projection: Projection,
        settings: Settings,
        *,
        rebuild: bool = False,
    ) -> None:
        self.pool = pool
        self.projection = projection
        self.settings = settings
        self.checkpoint_name = f"{projection.name}.rebuild" if rebuild else projection.name
        self.schema = projection.rebuild_schema if rebuild else projection.schema
        self.batch_limit = settings.batch_size
        self.wakeup = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Applies batches until stop is set; waits for a wake-up or the poll interval when idle."""
        name = self.projection.name
        log.info("projection=%s worker started", name)
        failures = 0
        idle_delay = self.settings.horizon_retry
        has_checkpoint = False
        while not stop.is_set():
            try:
                if not has_checkpoint:
                    await self.ensure_checkpoint()
                    has_checkpoint = True
                outcome = await self.run_batch()
                if outcome.other_version is not None and outcome.other_version < self.projection.version:
                    if await self.rebuild(stop):
                        continue
                    await self._wait(self.settings.poll_interval, stop)
                    continue
            except psycopg.Error as error:
                single_event = self.batch_limit == 1
                await self.record_error(error, single_event)
                if not single_event:
                    # Narrow the failure down to the event that causes it.
                    self.batch_limit = max(1, self.batch_limit // 2)
                    log.warning("projection=%s batch failed, retrying %d events: %s", name, self.batch_limit, error)
                    continue
                failures += 1
                delay = min(30.0, 0.25 * 2**failures)
                log.error("projection=%s stuck at an event (retry in %.1fs): %s", name, delay, error)
                await self._wait(delay, stop)
                continue
            failures = 0
            if outcome.events:
                self.batch_limit = self.next_batch_limit(outcome.events)
                idle_delay = self.settings.horizon_retry
                continue
            if outcome.other_version is not None:
                log.error(
                    "projection=%s checkpoint is at version %d, this worker runs %d: idle",
                    name,
                    outcome.other_version,
                    self.projection.version,
                )
                await self._wait(self.settings.poll_interval, stop)
            elif outcome.writers_running and not outcome.locked_elsewhere:
                # Look again soon, backing off while the horizon stays held.
                await self._wait(idle_delay, stop)
                idle_delay = min(idle_delay * 2, self.settings.poll_interval)
            else:
                await self._wait(self.settings.poll_interval, stop)
        log.info("projection=%s worker stopped", name)

    def next_batch_limit(self, applied: int) -> int:
        """A full batch means a backlog: larger batches spread each batch's fixed cost."""
        if applied >= self.batch_limit:
            return min(self.batch_limit * 2, self.settings.batch_size * BACKLOG_BATCH_FACTOR)
        return self.settings.batch_size

    async def rebuild(self, stop: asyncio.Event) -> bool:
        """Rebuilds the projection for this version; False when that would lose data."""
        from projections.replay import ReplayRefused, replay

        log.info("projection=%s version %d: rebuilding from the log", self.projection.name, self.projection.version)
        try:
            await replay(self.pool, self.projection, self.settings, stop)
        except ReplayRefused as refused:
            log.error("projection=%s cannot rebuild: %s", self.projection.name, refused)
            await self.record_error(refused, single_event=False)
            return False
        return True

    async def _wait(self, timeout: float, stop: asyncio.Event) -> None:
        wake = asyncio.ensure_future(self.wakeup.wait())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({wake, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            stopped.cancel()
            self.wakeup.clear()

    async def ensure_checkpoint(self, batch_no: int = 0) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                query("ensure_checkpoint"),
                {"projection": self.checkpoint_name, "version": self.projection.version, "batch_no": batch_no},
            )

    async def run_batch(self) -> BatchOutcome:
        """Applies at most one batch in one transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            horizon = await (await cur.execute(query("read_horizon"))).fetchone()
            assert horizon is not None
            return await self.apply_batch(cur, horizon["horizon"], horizon["writers_running"])

    async def apply_batch(
        self, cur: AsyncCursor[dict[str, Any]], horizon: int, writers_running: bool = False
    ) -> BatchOutcome:
        """Applies the next batch below the horizon inside the caller's transaction."""
        checkpoint = await (
            await cur.execute(query("lock_checkpoint"), {"projection": self.checkpoint_name})
        ).fetchone()
        if checkpoint is None:
            return BatchOutcome(events=0, writers_running=writers_running, locked_elsewhere=True)
        if checkpoint["version"] != self.projection.version:
            return BatchOutcome(events=0, writers_running=writers_running, other_version=checkpoint["version"])
        bounds = await (
            await cur.execute(
                query("next_batch_end"),
                {
                    "xact_id": checkpoint["xact_id"],
                    "seq": checkpoint["seq"],
                    "horizon": horizon,
                    "batch_size": self.batch_limit,
                },
            )
        ).fetchone()
        assert bounds is not None
        if not bounds["events"]:
            return BatchOutcome(events=0, writers_running=writers_running)
        params = {
            "projection": self.checkpoint_name,
            "start_xact_id": checkpoint["xact_id"],
            "start_seq": checkpoint["seq"],
            "end_xact_id": bounds["end_xact_id"],
            "end_seq": bounds["end_seq"],
            "batch_no": checkpoint["batch_no"] + 1,
            "events": bounds["events"],
        }
        await cur.execute(sql.SQL("set local search_path to {}, public").format(sql.Identifier(self.schema)))
        for statement in self.projection.statements:
            await cur.execute(statement, params)
        await cur.execute("set local search_path to default")
        await cur.execute(query("advance_checkpoint"), params)
        await cur.execute(query("notify_projection"), {"projection": self.checkpoint_name})
        log.debug("projection=%s batch=%d events=%d", self.checkpoint_name, params["batch_no"], params["events"])
        return BatchOutcome(events=bounds["events"], writers_running=writers_running)

    async def record_error(self, error: BaseException, single_event: bool) -> None:
        with contextlib.suppress(psycopg.Error):
            async with self.pool.connection() as conn:
                await conn.execute(
                    query("record_projection_error"),
                    {"projection": self.checkpoint_name, "error": str(error), "single_event": single_event},
                )


class ProjectionRunner:
    """Runs one worker per projection as named tasks and watches them."""

    def __init__(self, pool: AsyncConnectionPool[Any], projections: Sequence[Projection], settings: Settings) -> None:
        self.settings = settings
        self.workers = [ProjectionWorker(pool, projection, settings) for projection in projections]
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        # Set when a worker dies of something it could not handle.
        self.failed = asyncio.Event()

    def start(self) -> None:
        for worker in self.workers:
            task = asyncio.create_task(worker.run(self.stop_event), name=f"projection:{worker.projection.name}")
            task.add_done_callback(self._watch)
            self.tasks.append(task)

    def _watch(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.critical("task %s died", task.get_name(), exc_info=task.exception())
        self.failed.set()

    def wake(self) -> None:
        """New events were committed in this process: look now rather than at the next poll."""
        for worker in self.workers:
            worker.wakeup.set()

    async def stop(self) -> None:
        """Lets in-flight batches commit; cancels (rolls back) what is still running after the grace period."""
        self.stop_event.set()
        if not self.tasks:
            return
        _, pending = await asyncio.wait(self.tasks, timeout=self.settings.shutdown_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
