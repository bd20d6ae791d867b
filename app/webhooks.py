"""Alert webhooks: each new, escalated or resolved alert POSTed to every configured URL (docs/alerts.md).

A dispatcher hands each alert change (pulse.alert_changes) to the job queue,
procrastinate, once per URL; its worker POSTs it, signed with HMAC-SHA256 of
`timestamp.body`, and records every attempt in pulse.webhook_attempts. A
failure (a connection error or any answer but 2xx) is retried with
exponential backoff by the queue, whose jobs live in PostgreSQL: a server
restart in the middle of a retry loses nothing. Delivery is at least once:
receivers deduplicate on X-Pulse-Delivery. Neither runs inside a projection batch.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

import httpx2
import procrastinate
import procrastinate.exceptions
import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from psycopg_pool import AsyncConnectionPool

from core.settings import Settings
from core.sql import named_queries

log = logging.getLogger("pulse.webhooks")
QUEUE = "webhooks"
TASK = "pulse.deliver_alert"
# Changes people are told about by webhook; acknowledgements stay on the stream and in the table.
DELIVERED_CHANGES = ("opened", "escalated", "resolved")
# A delivery whose server died mid-attempt stays 'doing' in the queue. Once that server's worker has
# missed its heartbeats (every 10 s) for this long, the job is retried; checked this often.
STALLED_AFTER_SECONDS = 60.0
STALLED_CHECK_SECONDS = 30.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-Pulse-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body" with the shared secret>."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def make_app(settings: Settings) -> procrastinate.App:
    """The job queue, its connections pointed at schema procrastinate, with the delivery task."""
    connector = procrastinate.PsycopgConnector(
        conninfo=settings.database_url,
        # The queue's tables, as the projector role, like the server's other background jobs.
        kwargs={"options": f"-c search_path=procrastinate -c role={settings.role('projector')}"},
        min_size=1,
        max_size=3,
    )
    app = procrastinate.App(connector=connector)
    retry = Backoff(settings.alert_webhook_attempts, settings.alert_webhook_backoff)

    @app.task(name=TASK, queue=QUEUE, retry=retry, pass_context=True)
    async def deliver(context: procrastinate.JobContext, change_seq: int, url: str, body: str) -> None:
        assert context.job is not None and context.job.id is not None
        await post_once(settings, context.job.id, context.job.attempts + 1, change_seq, url, body)

    return app


async def post_once(settings: Settings, job_id: int, attempt: int, change_seq: int, url: str, body: str) -> None:
    """One attempt: POST, record it, raise on failure so that the queue retries."""
    data = body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "booking-pulse-alerts",
        "X-Pulse-Delivery": str(change_seq),
        "X-Pulse-Timestamp": timestamp,
        "X-Pulse-Attempt": str(attempt),
    }
    if settings.alert_webhook_secret:
        headers["X-Pulse-Signature"] = signature(settings.alert_webhook_secret, timestamp, data)
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        async with httpx2.AsyncClient(timeout=settings.alert_webhook_timeout) as client:
            response = await client.post(url, content=data, headers=headers)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"answered {status}"
    except httpx2.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}" or type(failure).__name__
    elapsed = int((time.perf_counter() - started) * 1000)
    async with await psycopg.AsyncConnection.connect(
        settings.database_url, autocommit=True, options=f"-c role={settings.role('projector')}"
    ) as conn:
        await conn.execute(
            named_queries("alerts.sql")["record_webhook_attempt"],
            {
                "job_id": job_id,
                "change_seq": change_seq,
                "url": url,
                "attempt": attempt,
                "status_code": status,
                "error": error,
                "duration_ms": elapsed,
            },
        )
    if error is not None:
        log.warning("webhook %s, alert change %d, attempt %d: %s", url, change_seq, attempt, error)
        raise WebhookFailed(error)


class WebhookFailed(Exception):
    pass


class Backoff(BaseRetryStrategy):
    """Retries a failed delivery after backoff, 2 x backoff, 4 x backoff ... seconds, up to attempts in all."""

    def __init__(self, attempts: int, backoff: float) -> None:
        self.attempts = attempts
        self.backoff = backoff

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts + 1 >= self.attempts:
            return None
        return RetryDecision(retry_in={"seconds": self.backoff * 2**job.attempts})


def payload(change: str, alert: dict[str, Any], seq: int) -> str:
    return json.dumps(
        {"delivery": seq, "change": change, "sent_at": datetime.now(UTC).isoformat(), "alert": alert},
        separators=(",", ":"),
        ensure_ascii=False,
    )


async def dispatch(pool: AsyncConnectionPool[Any], app: procrastinate.App, settings: Settings) -> int:
    """Queues each alert change after the cursor once per webhook URL; one process at a time. Returns how many."""
    queries = named_queries("alerts.sql")
    queued = 0
    async with pool.connection() as conn, conn.transaction():
        cursor = await (await conn.execute(queries["lock_webhook_cursor"])).fetchone()
        if cursor is None:
            return 0  # another process is dispatching
        rows = await (await conn.execute(queries["changes_to_deliver"], {"after": cursor[0]})).fetchall()
        task = app.tasks[TASK]
        for seq, change, alert in rows:
            if change in DELIVERED_CHANGES:
                body = payload(change, alert, seq)
                for url in settings.alert_webhooks:
                    await task.defer_async(change_seq=seq, url=url, body=body)
                    queued += 1
            await conn.execute(queries["move_webhook_cursor"], {"seq": seq})
    return queued


async def retry_stalled(app: procrastinate.App) -> int:
    """Retries the deliveries left running by a server that died mid-attempt; returns how many."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        try:
            await app.job_manager.retry_job(job)
        except procrastinate.exceptions.ProcrastinateException:
            continue  # another server process retried it first
        log.warning("webhook delivery job %s was cut short by a server that died: retrying it", job.id)
        retried += 1
    return retried


async def run(pool: AsyncConnectionPool[Any], settings: Settings, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """The dispatcher and the queue's worker, until stop; the dispatcher wakes on alert notifications."""
    app = make_app(settings)
    stalled_checked = -math.inf
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=4,
                install_signal_handlers=False,
                fetch_job_polling_interval=settings.job_poll_interval,
                name="pulse-webhooks",
            ),
            name="webhook worker",
        )
        try:
            while not stop.is_set():
                try:
                    await dispatch(pool, app, settings)
                    if time.monotonic() - stalled_checked >= STALLED_CHECK_SECONDS:
                        stalled_checked = time.monotonic()
                        await retry_stalled(app)
                except (psycopg.Error, procrastinate.exceptions.ProcrastinateException) as error:
                    # The database away (the queue's connector wraps psycopg's errors): the next wake-up retries.
                    log.warning("queuing alert webhooks failed (next wake-up retries): %s", error)
                if worker.done():
                    worker.result()  # a dead worker is the lifespan's to report
                woken = asyncio.ensure_future(wake.wait())
                stopped = asyncio.ensure_future(stop.wait())
                await asyncio.wait({woken, stopped}, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                stopped.cancel()
                wake.clear()
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
