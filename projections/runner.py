"""The runner: one worker per projection as named tasks, watched, and rebuilt when behind.

A worker that finds its checkpoint written by an older version of its
projection stops and says so; the runner then rebuilds the projection from the
log (projections.replay) and starts the worker again. That decision lives here
alone.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from core.settings import Settings
from projections.projection import Projection
from projections.replay import ReplayBusy, ReplayRefused, replay
from projections.worker import BatchObserver, ProjectionWorker, WorkerExit

log = logging.getLogger("pulse.projections")


class ProjectionRunner:
    """Runs one worker per projection as named tasks and watches them."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        projections: Sequence[Projection],
        settings: Settings,
        on_batch: BatchObserver | None = None,
    ) -> None:
        """on_batch: told of each batch a worker commits (projection, events, seconds), e.g. for metrics."""
        self.pool = pool
        self.settings = settings
        self.workers = [ProjectionWorker(pool, projection, settings, on_batch=on_batch) for projection in projections]
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        # Set when a worker dies of something it could not handle.
        self.failed = asyncio.Event()

    def start(self) -> None:
        for worker in self.workers:
            task = asyncio.create_task(self._supervise(worker), name=f"projection:{worker.projection.name}")
            task.add_done_callback(self._watch)
            self.tasks.append(task)

    async def _supervise(self, worker: ProjectionWorker) -> None:
        while not self.stop_event.is_set():
            if await worker.run(self.stop_event) is WorkerExit.BEHIND and not await self._rebuild(worker):
                await worker.pause(self.settings.poll_interval, self.stop_event)

    async def _rebuild(self, worker: ProjectionWorker) -> bool:
        """Rebuilds the worker's projection for its version; False when that would lose data."""
        projection = worker.projection
        log.info("projection=%s version %d: rebuilding from the log", projection.name, projection.version)
        try:
            await replay(self.pool, projection, self.settings, self.stop_event)
        except ReplayBusy:
            # Another process rebuilds it: nothing is wrong, this one waits for the swap.
            log.info("projection=%s is being rebuilt by another process", projection.name)
            return False
        except (ReplayRefused, psycopg.Error) as refused:
            log.error("projection=%s cannot rebuild: %s", projection.name, refused)
            await worker.record_error(refused, single_event=False)
            return False
        return True

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
