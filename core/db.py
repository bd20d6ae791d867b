"""Connections: the pool for queries, and one dedicated LISTEN connection per process."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("pulse.db")

# The one channel: projections NOTIFY it once per batch (payload: the checkpoint
# name), listeners wake on it. Versioned: a deploy that changes what the payload
# means changes the name.
PROJECTIONS_CHANNEL = "pulse_projections_v1"
# Lets operators (and tests) find the listening connection in pg_stat_activity.
LISTENER_APPLICATION_NAME = "pulse-listener"


def make_pool(
    database_url: str,
    max_size: int,
    timeout: float = 30.0,
    role: str | None = None,
    statement_timeout: str = "0",
) -> AsyncConnectionPool[Any]:
    """A pool to open in the lifespan (never at import); getting a connection fails after timeout seconds.

    With a role, every connection acts as that role (SET ROLE): a job uses the
    least role it needs. statement_timeout bounds each statement ("30s"; "0":
    none); no connection may sit idle in a transaction for more than a minute.
    """

    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        if role is not None:
            await conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        # jit off: estimates over the rollups (a one-row settings table, a lateral FX lookup per row) pass
        # JIT's cost threshold for queries that run in milliseconds, and JIT compiled for 340 ms before a
        # 2 ms stream query on every batch. Projection catch-up measured as fast or faster without it.
        await conn.execute(
            "select set_config('statement_timeout', %s, false), "
            "set_config('idle_in_transaction_session_timeout', '60s', false), set_config('jit', 'off', false)",
            (statement_timeout,),
        )
        await conn.commit()

    return AsyncConnectionPool(
        database_url,
        open=False,
        min_size=min(2, max_size),
        max_size=max_size,
        timeout=timeout,
        check=AsyncConnectionPool.check_connection,
        configure=configure,
        name=f"pulse-{role}" if role else "pulse",
    )


class Listener:
    """LISTENs on a dedicated autocommit connection, reconnecting forever.

    Notifications are hints: on_signal runs on each one and after every
    (re)connect, since notifications sent while disconnected are gone.
    """

    def __init__(self, database_url: str, channel: str, on_signal: Callable[[], None], liveness_every: float = 10.0):
        self.database_url = database_url
        self.channel = channel
        self.on_signal = on_signal
        self.liveness_every = liveness_every
        self.connected = asyncio.Event()
        # Connections made: 1 + reconnects.
        self.connects = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._listen(stop)
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                if self.connected.is_set():
                    backoff = 0.5  # it was up: a fresh drop retries quickly
                self.connected.clear()
                log.warning("channel=%s listen connection lost (retry in %.1fs): %s", self.channel, backoff, error)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    backoff = min(backoff * 2, 10.0)

    async def _listen(self, stop: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True, application_name=LISTENER_APPLICATION_NAME
        ) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.connected.set()
            self.connects += 1
            log.info("channel=%s listening", self.channel)
            self.on_signal()
            while not stop.is_set():
                async for _ in conn.notifies(timeout=self.liveness_every):
                    self.on_signal()
                    if stop.is_set():
                        break
                # A quiet channel may hide a dead connection: prove it alive.
                await conn.execute("SELECT 1")
