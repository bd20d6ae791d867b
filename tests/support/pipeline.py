"""Driving events through the write contract and the real projection workers."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app import ingest
from core.db import make_pool
from core.log import LogPosition
from core.settings import Settings
from core.sql import query
from projections import ALL_PROJECTIONS, Projection
from projections.runner import ProjectionRunner
from projections.worker import ProjectionWorker


async def append(database_url: str, events: list[dict[str, Any]]) -> list[ingest.Item]:
    """Stores events exactly as POST /v1/events would; returns what became of each."""
    items = ingest.parse_body(json.dumps(events).encode(), "application/json")
    ingest.validate(items)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        # As the server stores them: with the ingest role and nothing more.
        await conn.execute("set role pulse_ingest")
        await ingest.store(conn, items, "application/json")
    return items


def append_in(conn: psycopg.Connection[Any], event: dict[str, Any]) -> LogPosition:
    """Appends one event through pulse.append_events in the caller's open transaction; its position."""
    row = conn.execute(
        query("append_events"),
        {
            "event_ids": [event["event_id"]],
            "types": [event["type"]],
            "occurred_ats": [event["occurred_at"]],
            "datas": [json.dumps(event["data"])],
        },
    ).fetchone()
    assert row is not None and not row[3], f"not stored: {row}"
    return LogPosition(row[1], row[2])


async def drain(
    settings: Settings, batch_size: int, projections: tuple[Projection, ...] = ALL_PROJECTIONS, patience: float = 10.0
) -> int:
    """Runs fresh workers (as after a restart) until the log is applied; returns the batches.

    A transaction still running elsewhere (a running app's alert detector, say) holds the horizon below
    events already committed: drain waits up to `patience` seconds for it to end. Tests that keep a writer
    open on purpose pass 0.
    """
    # As the server runs them: with the projector's role and nothing more.
    async with make_pool(settings.database_url, max_size=2, role=settings.role("projector")) as pool:
        batches = 0
        for projection in projections:
            worker = ProjectionWorker(pool, projection, settings.model_copy(update={"batch_size": batch_size}))
            await worker.ensure_checkpoint()
            deadline = asyncio.get_running_loop().time() + patience
            while True:
                outcome = await worker.run_batch()
                if outcome.events:
                    batches += 1
                elif outcome.locked_elsewhere:
                    # Another worker (a running app's) is applying a batch: the log is applied once it commits.
                    await asyncio.sleep(0.01)
                elif (
                    outcome.writers_running
                    and asyncio.get_running_loop().time() < deadline
                    and await _committed_beyond_checkpoint(pool, worker.checkpoint_name)
                ):
                    await asyncio.sleep(0.01)
                else:
                    break
        return batches


async def _committed_beyond_checkpoint(pool: AsyncConnectionPool[Any], checkpoint: str) -> bool:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "select exists (select from pulse.events e, pulse.projection_checkpoints c"
                " where c.projection = %s and (e.xact_id, e.seq) > (c.xact_id, c.seq))",
                [checkpoint],
            )
        ).fetchone()
    return bool(row and row[0])


@contextlib.asynccontextmanager
async def running_projections(
    settings: Settings, projections: Sequence[Projection] = ALL_PROJECTIONS
) -> AsyncIterator[ProjectionRunner]:
    """The projection runner, as `pulse work` runs it, until the block ends."""
    # A rebuilding projection uses two connections at once.
    async with make_pool(
        settings.database_url, max_size=2 * len(projections) + 1, role=settings.role("projector")
    ) as pool:
        runner = ProjectionRunner(pool, projections, settings)
        runner.start()
        try:
            yield runner
        finally:
            await runner.stop()
        assert not runner.failed.is_set(), "a projection task died"


async def until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> None:
    """Waits in the event loop until condition() is truthy; fails after timeout."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(interval)
