"""Driving events through the real ingest path and the real projection workers."""

import json
from dataclasses import replace
from typing import Any

import psycopg

from app import ingest
from app.db import make_pool
from app.settings import Settings
from projections import ALL_PROJECTIONS, Projection
from projections.worker import ProjectionWorker


async def append(database_url: str, events: list[dict[str, Any]]) -> list[ingest.Item]:
    """Stores events exactly as POST /v1/events would; returns what became of each."""
    items = ingest.parse_body(json.dumps(events).encode(), "application/json")
    ingest.validate(items)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await ingest.store(conn, items, "application/json")
    return items


async def drain(settings: Settings, batch_size: int, projections: tuple[Projection, ...] = ALL_PROJECTIONS) -> int:
    """Runs fresh workers (as after a restart) until the log is applied; returns the batches."""
    async with make_pool(settings.database_url, max_size=2) as pool:
        batches = 0
        for projection in projections:
            worker = ProjectionWorker(pool, projection, replace(settings, batch_size=batch_size))
            await worker.ensure_checkpoint()
            while (await worker.run_batch()).events:
                batches += 1
        return batches
