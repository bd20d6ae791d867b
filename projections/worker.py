"""Projection workers: read the log in commit order, apply it exactly once.

Each batch is one transaction: find the events after the checkpoint below the
horizon, lock the checkpoint, aggregate those events straight from
pulse.events, upsert the rollups, move the checkpoint, NOTIFY. A look that
finds nothing writes nothing. A worker killed at any instant leaves either the
whole batch or none of it.
"""

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from core.db import PROJECTIONS_CHANNEL
from core.settings import Settings
from core.sql import query
from projections.projection import Projection

log = logging.getLogger("pulse.projections")

# Catching up on a backlog, batches take up to this many times PULSE_BATCH_SIZE, or the
# projection's backlog_batch_events if that is more (PULSE_BACKLOG_BATCH_SIZE overrides both).
BACKLOG_BATCH_FACTOR = 8

# Told of each committed batch: (projection name, events, seconds from its start to its commit).
# The app fills its Prometheus histograms with it; projections/ knows nothing of the app.
BatchObserver = Callable[[str, int, float], None]


@dataclass(frozen=True)
class BatchOutcome:
    events: int
    # Transactions were running, so events may be waiting just above the horizon.
    writers_running: bool
    # Another worker holds this projection's checkpoint.
    locked_elsewhere: bool = False
    # The checkpoint was written by another version of the projection.
    other_version: int | None = None
    # (horizon, checkpoint xact_id, seq) once this transaction commits, when the batch read
    # every event below the horizon (see ProjectionWorker.drained).
    drained: tuple[int, int, int] | None = None


class WorkerExit(enum.Enum):
    STOPPED = "stopped"
    # The checkpoint was written by an older version: the projection needs a rebuild.
    BEHIND = "behind"


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
        on_batch: BatchObserver | None = None,
    ) -> None:
        self.pool = pool
        self.projection = projection
        self.settings = settings
        self.on_batch = on_batch
        self.checkpoint_name = projection.rebuild_checkpoint if rebuild else projection.checkpoint
        self.schema = projection.rebuild_schema if rebuild else projection.schema
        self.batch_limit = settings.batch_size
        # Consecutive failures of a single-event batch: the projection is stuck at that event.
        self.failures = 0
        self.wakeup = asyncio.Event()
        # (horizon, checkpoint xact_id, seq) of the last read that found every event below that horizon.
        # While the horizon and the checkpoint stay there, nothing new can be below it: transaction ids
        # below the horizon are all finished, and new ones are above it.
        self.drained: tuple[int, int, int] | None = None

    async def run(self, stop: asyncio.Event) -> WorkerExit:
        """Applies batches until stop is set, or until it finds its checkpoint behind its version.

        Waits for a wake-up or the poll interval when idle. Rebuilding is not its
        decision: it returns BEHIND and its runner acts.
        """
        name = self.projection.name
        log.info("projection=%s worker started", name)
        idle_delay = self.settings.horizon_retry
        has_checkpoint = False
        while not stop.is_set():
            if not has_checkpoint:
                try:
                    await self.ensure_checkpoint()
                    has_checkpoint = True
                except psycopg.Error as error:
                    log.error("projection=%s cannot create its checkpoint: %s", name, error)
                    await self.pause(self.settings.poll_interval, stop)
                    continue
            outcome = await self.apply_next()
            if outcome is None:
                await self.pause(self.retry_delay, stop)
                continue
            if outcome.other_version is not None and outcome.other_version < self.projection.version:
                log.info("projection=%s checkpoint is at version %d: behind", name, outcome.other_version)
                return WorkerExit.BEHIND
            if outcome.events:
                idle_delay = self.settings.horizon_retry
            elif outcome.other_version is not None:
                log.error(
                    "projection=%s checkpoint is at version %d, this worker runs %d: idle",
                    name,
                    outcome.other_version,
                    self.projection.version,
                )
                await self.pause(self.settings.poll_interval, stop)
            elif outcome.writers_running and not outcome.locked_elsewhere:
                # Look again soon, backing off while the horizon stays held.
                await self.pause(idle_delay, stop)
                idle_delay = min(idle_delay * 2, self.settings.poll_interval)
            else:
                await self.pause(self.settings.poll_interval, stop)
        log.info("projection=%s worker stopped", name)
        return WorkerExit.STOPPED

    async def apply_next(self) -> BatchOutcome | None:
        """One batch. On a database error it records the error, halves the next batch and returns None."""
        try:
            outcome = await self.run_batch()
        except psycopg.Error as error:
            single_event = self.batch_limit == 1
            await self.record_error(error, single_event)
            if single_event:
                self.failures += 1
                log.error("projection=%s stuck at an event: %s", self.checkpoint_name, error)
            else:
                # Narrow the failure down to the event that causes it.
                self.batch_limit = max(1, self.batch_limit // 2)
                log.warning(
                    "projection=%s batch failed, next %d events: %s", self.checkpoint_name, self.batch_limit, error
                )
            return None
        self.failures = 0
        if outcome.events:
            self.batch_limit = self.next_batch_limit(outcome.events)
        return outcome

    @property
    def retry_delay(self) -> float:
        """None while a failure is being narrowed down; then a backoff between retries of the one event."""
        return min(30.0, 0.25 * 2**self.failures) if self.failures else 0.0

    def next_batch_limit(self, applied: int) -> int:
        """A full batch means a backlog: larger batches spread each batch's fixed cost.

        A full batch of the usual size makes the next one the largest at once, as each batch rewrites
        the rollup rows it touches: customers' catch-up rewrote most customers once per doubling step.
        Batches under the usual size are narrowing a failure down to its event: those only double.
        """
        if applied < self.batch_limit:
            return self.settings.batch_size
        largest = self.settings.backlog_batch_size or max(
            self.settings.batch_size * BACKLOG_BATCH_FACTOR, self.projection.backlog_batch_events
        )
        largest = max(largest, self.settings.batch_size)
        if self.batch_limit < self.settings.batch_size:
            return min(self.batch_limit * 2, largest)
        return largest

    async def pause(self, timeout: float, stop: asyncio.Event) -> None:
        """Waits for timeout, a wake-up or stop, whichever comes first."""
        if timeout <= 0:
            return
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
        """Applies at most one batch in one transaction; tells on_batch of it once committed."""
        started = time.perf_counter()
        async with self.pool.connection() as conn:
            async with conn.transaction():
                cur = conn.cursor(row_factory=dict_row)
                horizon = await (await cur.execute(query("read_horizon"))).fetchone()
                assert horizon is not None
                outcome = await self.apply_batch(cur, horizon["horizon"], horizon["writers_running"])
        if outcome.drained is not None:
            self.drained = outcome.drained  # committed: the checkpoint is where the outcome says
        if outcome.events and self.on_batch is not None:
            try:
                self.on_batch(self.projection.name, outcome.events, time.perf_counter() - started)
            except Exception:
                # Figures are never worth a batch: the batch is committed whatever the observer does.
                log.exception("projection=%s batch observer failed", self.projection.name)
        return outcome

    async def apply_batch(
        self, cur: AsyncCursor[dict[str, Any]], horizon: int, writers_running: bool = False
    ) -> BatchOutcome:
        """Applies the next batch below the horizon inside the caller's transaction.

        Finding nothing to apply writes nothing: the checkpoint is read unlocked first and locked only
        once there is a batch, then read again under the lock in case another worker moved it meanwhile.
        """
        checkpoint = await (
            await cur.execute(query("read_checkpoint"), {"projection": self.checkpoint_name})
        ).fetchone()
        if checkpoint is None:
            return BatchOutcome(events=0, writers_running=writers_running, locked_elsewhere=True)
        if checkpoint["version"] != self.projection.version:
            return BatchOutcome(events=0, writers_running=writers_running, other_version=checkpoint["version"])
        position = (horizon, checkpoint["xact_id"], checkpoint["seq"])
        if position == self.drained:
            return BatchOutcome(events=0, writers_running=writers_running)
        bounds = await self.next_batch_end(cur, checkpoint, horizon)
        if not bounds["events"]:
            return BatchOutcome(events=0, writers_running=writers_running, drained=position)
        locked = await (await cur.execute(query("lock_checkpoint"), {"projection": self.checkpoint_name})).fetchone()
        if locked is None:
            return BatchOutcome(events=0, writers_running=writers_running, locked_elsewhere=True)
        if locked["version"] != self.projection.version:
            return BatchOutcome(events=0, writers_running=writers_running, other_version=locked["version"])
        if (locked["xact_id"], locked["seq"], locked["batch_no"]) != (
            checkpoint["xact_id"],
            checkpoint["seq"],
            checkpoint["batch_no"],
        ):
            checkpoint = locked
            bounds = await self.next_batch_end(cur, checkpoint, horizon)
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
            "event_types": list(self.projection.event_types),
            "batch_table_types": self.projection.batch_table_types,
        }
        # One round trip for the rest of the batch: nothing below needs an answer before the commit, and
        # about fifteen round trips a batch were a fifth of a small batch's time. An error surfaces when
        # the pipeline ends, and the transaction rolls back as before.
        async with cur.connection.pipeline():
            # Batch estimates run high (a position range says little to the planner), which made
            # PostgreSQL JIT-compile statements that then ran in milliseconds: about a second lost per batch.
            await cur.execute("set local jit = off")
            # Live traffic's small batches run each statement's generic plan, kept with the connection's
            # prepared statement: planning a position range over every chunk of pulse.events took 2-3 ms a
            # statement (67 chunks at 10^6 events), more than running it. A backlog's large batches get
            # plans made for their size: a generic plan is made once, with the batch table as it was then,
            # and planning is a small part of a large batch.
            live = bounds["events"] < self.settings.batch_size
            await cur.execute(f"set local plan_cache_mode = {'force_generic_plan' if live else 'force_custom_plan'}")
            if self.projection.reads_batch_table:
                await cur.execute(query("create_batch_table"))
                await cur.execute(query("empty_batch_table"))
                await cur.execute(query("fill_batch_table"), params)
            await cur.execute(self.projection.search_path(self.schema))
            for statement in self.projection.statements:
                await cur.execute(statement, params)
            await cur.execute("set local search_path to default")
            # A batch.sql may tune the planner for its statements; the rest of the transaction runs as usual.
            for setting in ("enable_hashagg", "enable_sort", "work_mem"):
                await cur.execute(f"set local {setting} to default")
            await cur.execute("set local plan_cache_mode to default")
            await cur.execute(query("advance_checkpoint"), params)
            await cur.execute(
                query("notify_projection"), {"channel": PROJECTIONS_CHANNEL, "projection": self.checkpoint_name}
            )
        log.debug("projection=%s batch=%d events=%d", self.checkpoint_name, params["batch_no"], params["events"])
        drained = (horizon, bounds["end_xact_id"], bounds["end_seq"]) if bounds["events"] < self.batch_limit else None
        return BatchOutcome(events=bounds["events"], writers_running=writers_running, drained=drained)

    async def next_batch_end(self, cur: AsyncCursor[dict[str, Any]], checkpoint: dict[str, Any], horizon: int) -> Any:
        """The size and last position of the batch after the checkpoint, below the horizon."""
        params = {
            "xact_id": checkpoint["xact_id"],
            "seq": checkpoint["seq"],
            "horizon": horizon,
            "batch_size": self.batch_limit,
        }
        if self.batch_limit > self.settings.batch_size:
            # The last batch was full, so this one likely is too (a backlog): its end is the batch_limit-th
            # position, found without counting the others. Live traffic's batches are not full, and would
            # read their positions twice.
            await cur.execute("set local enable_sort = off")
            end = await (await cur.execute(query("full_batch_end"), params)).fetchone()
            await cur.execute("set local enable_sort to default")
            if end is not None:
                return {"events": self.batch_limit, **end}
        bounds = await (await cur.execute(query("next_batch_end"), params)).fetchone()
        assert bounds is not None
        return bounds

    async def record_error(self, error: BaseException, single_event: bool) -> None:
        with contextlib.suppress(psycopg.Error):
            async with self.pool.connection() as conn:
                await conn.execute(
                    query("record_projection_error"),
                    {"projection": self.checkpoint_name, "error": str(error), "single_event": single_event},
                )
