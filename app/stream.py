"""GET /v1/stream: live rollup changes as server-sent events.

One Broadcaster per process reads what each projection batch changed (woken
by the Listener, and polling anyway) and fans it out to bounded per-client
queues. A client too slow to keep up gets a fresh snapshot instead of a backlog.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import psycopg
import simplejson
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request

from core.log import Checkpoint
from core.settings import Settings
from core.sql import query
from projections import BOOKINGS

log = logging.getLogger("pulse.stream")

RECENT_HOURS = 24
MAX_ROWS_PER_MESSAGE = 2000
RECONNECT_MILLISECONDS = 2000


@dataclass
class Message:
    kind: str  # "snapshot" or "update"
    batch_no: int
    # Bumped when a replay swapped in rebuilt tables.
    generation: int
    position: str
    rows: list[dict[str, Any]]

    @cached_property
    def sse(self) -> ServerSentEvent:
        """Serialized once, however many clients receive it."""
        data = {
            "projection": BOOKINGS.name,
            "batch": self.batch_no,
            "position": self.position,
            "rows": self.rows,
        }
        return ServerSentEvent(
            data=simplejson.dumps(data, use_decimal=True, default=str),
            event=self.kind,
            id=str(self.batch_no),
            retry=RECONNECT_MILLISECONDS,
        )


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Message | None]
    # Set when the queue overflowed: the client gets a snapshot, not the backlog.
    needs_snapshot: bool = field(default=False)


class Broadcaster:
    def __init__(self, pool: AsyncConnectionPool[Any], settings: Settings) -> None:
        self.pool = pool
        self.settings = settings
        self.subscriptions: set[Subscription] = set()
        self.changed = asyncio.Event()
        self.last_batch = 0
        self.generation = 0

    def subscribe(self) -> Subscription:
        subscription = Subscription(queue=asyncio.Queue(maxsize=self.settings.sse_queue_size))
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def close(self) -> None:
        """Ends every client stream (server shutdown)."""
        for subscription in self.subscriptions:
            self._offer(subscription, None)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            wake = asyncio.ensure_future(self.changed.wait())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {wake, stopped}, timeout=self.settings.stream_poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
            wake.cancel()
            stopped.cancel()
            self.changed.clear()
            if stop.is_set():
                break
            try:
                await self.publish_changes()
            except psycopg.Error as error:
                # The next wake-up or poll tries again; clients keep their connection.
                log.warning("reading stream changes failed: %s", error)

    async def publish_changes(self) -> None:
        message = await self.read_changes(self.last_batch)
        if message is None:
            return
        self.last_batch = message.batch_no
        # Rebuilt tables: what clients hold may differ anywhere, so they start over.
        swapped = message.generation != self.generation
        self.generation = message.generation
        if not (message.rows or swapped):
            return
        # Too many changes for one message (a backfill): clients get a fresh snapshot instead.
        truncated = swapped or len(message.rows) == MAX_ROWS_PER_MESSAGE
        for subscription in list(self.subscriptions):
            subscription.needs_snapshot |= truncated
            self._offer(subscription, message)

    def _offer(self, subscription: Subscription, message: Message | None) -> None:
        try:
            subscription.queue.put_nowait(message)
        except asyncio.QueueFull:
            # Too slow to keep up: drop the backlog, send a snapshot instead.
            subscription.needs_snapshot = True
            while not subscription.queue.empty():
                subscription.queue.get_nowait()
            subscription.queue.put_nowait(message)

    async def read_changes(self, after_batch: int) -> Message | None:
        """Rows changed by batches after after_batch; None when no batch has committed since."""
        return await self._read("update", after_batch)

    async def read_snapshot(self) -> Message:
        """Rows of the last hours: what a client sees first."""
        message = await self._read("snapshot", after_batch=-1)
        assert message is not None
        return message

    async def _read(self, kind: str, after_batch: int) -> Message | None:
        # One snapshot for the checkpoint and the rows, so they agree.
        async with self.pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await cur.execute(query("checkpoint"), {"projection": BOOKINGS.checkpoint})
            row = await cur.fetchone()
            checkpoint = Checkpoint.from_row(row) if row else None
            batch_no = checkpoint.batch_no if checkpoint else 0
            if batch_no <= after_batch:
                return None
            await cur.execute(BOOKINGS.search_path())
            if kind == "snapshot":
                await cur.execute(
                    BOOKINGS.queries["bookings_hourly_recent"], {"hours": RECENT_HOURS, "limit": MAX_ROWS_PER_MESSAGE}
                )
            else:
                await cur.execute(
                    BOOKINGS.queries["bookings_hourly_changed"],
                    {"after_batch": after_batch, "limit": MAX_ROWS_PER_MESSAGE},
                )
            rows = await cur.fetchall()
        return Message(
            kind=kind,
            batch_no=batch_no,
            generation=checkpoint.generation if checkpoint else 0,
            position=str(checkpoint.position) if checkpoint else "0/0",
            rows=[_row(row) for row in rows],
        )


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "bucket": row["bucket"].isoformat()}


async def stream(request: Request) -> EventSourceResponse:
    broadcaster: Broadcaster = request.state.broadcaster
    settings: Settings = request.state.settings

    async def events() -> AsyncIterator[ServerSentEvent]:
        subscription = broadcaster.subscribe()
        try:
            yield (await broadcaster.read_snapshot()).sse
            while True:
                message = await subscription.queue.get()
                if message is None:
                    return
                if subscription.needs_snapshot:
                    subscription.needs_snapshot = False
                    message = await broadcaster.read_snapshot()
                yield message.sse
        finally:
            broadcaster.unsubscribe(subscription)

    return EventSourceResponse(
        events(),
        ping=int(settings.sse_ping_seconds),
        send_timeout=settings.sse_send_timeout,
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
    )
