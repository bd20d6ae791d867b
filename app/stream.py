"""GET /v1/stream: what dashboards show, as server-sent events (docs/stream.md).

One Broadcaster per process, woken by the Listener (NOTIFY is a hint) and
polling anyway, reads each subscribed topic once per set of filters after every
projection batch that changes it, serializes it once, and hands it to each
client of those filters. A client holds at most the latest message of each
topic (conflation): a slow client skips states, never piles them up, and fast
clients never wait for it.
"""

import asyncio
import json
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.auth import requires
from app.metrics import (
    ALERTS_TOPIC,
    ALL_TOPICS,
    METRIC_TOPICS,
    Checkpoints,
    Filters,
    TopicMessage,
    batch_at,
    read_checkpoints,
    read_topics,
)
from core.log import LogPosition
from core.settings import Settings
from core.sql import named_queries
from projections import BOOKINGS

log = logging.getLogger("pulse.stream")

RECONNECT_MILLISECONDS = 2000
# The times a snapshot may ask about: events are never older, and nothing lies far ahead.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
STREAM_PARAMETERS = ("topics", "destination", "booking_type")
# Alert changes a client may have waiting; past that its stream closes, and it resumes with Last-Event-ID.
ALERT_BACKLOG = 1000
LOG_START = LogPosition(0, 0)


@dataclass(frozen=True)
class AlertMessage:
    """One alert change (pulse.alert_changes): never conflated, delivered in seq order."""

    seq: int
    json: str


@dataclass(eq=False)
class Subscriber:
    """One connected client: what it asked for, and the latest message of each topic it has yet to get."""

    topics: frozenset[str]
    filters: Filters
    pending: dict[str, TopicMessage] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    # Alert changes not yet sent, in order; the last seq handed over and the last metric position sent.
    alerts: deque[AlertMessage] = field(default_factory=deque)
    alert_seq: int = 0
    sent_alert_seq: int = 0
    position: LogPosition = LOG_START

    @property
    def wants_alerts(self) -> bool:
        return ALERTS_TOPIC in self.topics

    def offer_alert(self, message: AlertMessage) -> None:
        """Queues one alert change; a client too far behind is closed, to resume from the database."""
        if message.seq <= self.alert_seq:
            return
        if len(self.alerts) >= ALERT_BACKLOG:
            log.warning("a stream client fell %d alert changes behind: closing it so it resumes", ALERT_BACKLOG)
            self.close()
            return
        self.alerts.append(message)
        self.alert_seq = message.seq
        self.ready.set()

    def event_id(self, position: LogPosition | None = None, alert_seq: int | None = None) -> str:
        """The SSE id: the metric position it is consistent with, then ;a<seq> of the last alert change sent."""
        position = position or self.position
        if not self.wants_alerts:
            return str(position)
        return f"{position};a{alert_seq if alert_seq is not None else self.sent_alert_seq}"

    def offer(self, message: TopicMessage) -> None:
        """Replaces what is pending for the topic; an hourly message keeps the restated hours it replaces."""
        previous = self.pending.get(message.topic)
        if previous is not None and message.topic == "hourly":
            message = _merge_restated(previous, message)
        self.pending[message.topic] = message
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    def take(self) -> list[TopicMessage]:
        """What is pending, in topic order; empties it (ready stays set while alert changes wait)."""
        messages = [self.pending.pop(topic) for topic in ALL_TOPICS if topic in self.pending]
        if not self.alerts:
            self.ready.clear()
        return messages

    def take_alerts(self) -> list[AlertMessage]:
        """The alert changes waiting, in order; empties them (ready stays set while metric messages wait)."""
        messages = list(self.alerts)
        self.alerts.clear()
        if not self.pending:
            self.ready.clear()
        return messages


def _fresh(message: TopicMessage) -> TopicMessage:
    """The message as a first message: no restated hours."""
    if not message.data.get("restated"):
        return message
    return replace(message, data={**message.data, "restated": []})


def _merge_restated(previous: TopicMessage, message: TopicMessage) -> TopicMessage:
    earlier = set(previous.data.get("restated", ()))
    if earlier <= set(message.data.get("restated", ())):
        return message
    restated = sorted(earlier | set(message.data["restated"]))
    return replace(message, data={**message.data, "restated": restated})


@dataclass
class FilterState:
    """What was last published for one set of filters: the clients can start from it."""

    messages: dict[str, TopicMessage] = field(default_factory=dict)
    # Per topic, the checkpoints' batch numbers and generations it was read at.
    read_at: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    bookings_batch: int = 0


class TooManyClients(Exception):
    pass


class Broadcaster:
    def __init__(self, pool: AsyncConnectionPool[Any], settings: Settings) -> None:
        self.pool = pool
        self.settings = settings
        self.subscribers: set[Subscriber] = set()
        self.states: dict[Filters, FilterState] = {}
        self.changed = asyncio.Event()
        self.lock = asyncio.Lock()
        # The last alert change handed to subscribers; None until first read.
        self.alert_seq: int | None = None
        self.messages_sent = 0

    async def subscribe(
        self,
        topics: frozenset[str],
        filters: Filters,
        resume_from: LogPosition | None,
        resume_alerts_after: int | None = None,
    ) -> Subscriber:
        """A new client, with the current state of each of its metric topics already pending.

        With the alerts topic, the alerts come first: the changes after resume_alerts_after in order, or,
        for a fresh client, each unresolved alert (and those resolved in the last day) as it is now.
        """
        subscriber = Subscriber(topics, filters, position=resume_from or LogPosition(0, 0))
        metric_topics = [topic for topic in METRIC_TOPICS if topic in topics]
        async with self.lock:
            # Counted under the lock, where clients are added: the limit holds under a burst of connects.
            if len(self.subscribers) >= self.settings.stream_max_clients:
                raise TooManyClients
            state = self.states.get(filters)
            if resume_from is not None or state is None or any(t not in state.messages for t in metric_topics):
                async with self.pool.connection() as conn:
                    restated_after = await batch_at(conn, BOOKINGS.checkpoint, resume_from) if resume_from else None
                    if resume_from is not None and restated_after is None:
                        restated_after = 0  # older than the batches remembered: any hour may have changed
                    checkpoints, messages = await read_topics(
                        conn, metric_topics, filters, restated_after=restated_after
                    )
                if state is None:
                    state = self.states[filters] = FilterState(bookings_batch=checkpoints.batches.get("bookings", 0))
                if resume_from is None:
                    self._remember(state, checkpoints, messages)
            else:
                # What others were sent last; a new client has nothing to be told was restated.
                messages = {topic: _fresh(state.messages[topic]) for topic in metric_topics}
            for message in messages.values():
                subscriber.offer(message)
            if subscriber.wants_alerts:
                await self._catch_up_alerts(subscriber, resume_alerts_after)
            self.subscribers.add(subscriber)
        return subscriber

    async def _catch_up_alerts(self, subscriber: Subscriber, after: int | None) -> None:
        """Under the lock: what a new client gets first, up to the alert change the others were handed.

        Resuming: every change after the client's last, in order (a snapshot instead when it missed more
        than ALERT_BACKLOG). Fresh: each unresolved alert, and those resolved in the last day, as they are now.
        """
        queries = named_queries("alerts.sql")
        async with self.pool.connection() as conn:
            await self._read_alert_changes(conn)
            upto = self.alert_seq or 0
            rows: list[Any] = []
            if after is not None:
                rows = await (
                    await conn.execute(
                        queries["alert_changes_after"], {"after": after, "upto": upto, "limit": ALERT_BACKLOG + 1}
                    )
                ).fetchall()
            snapshot = after is None or len(rows) > ALERT_BACKLOG
            if snapshot:
                rows = sorted(await (await conn.execute(queries["current_alerts"], {"upto": upto})).fetchall())
        messages = [
            AlertMessage(seq, json.dumps(alert, separators=(",", ":"), ensure_ascii=False)) for seq, alert in rows
        ]
        if snapshot:
            # Each alert as of its latest change, oldest change first: a client that has the first k of them
            # and resumes after the k-th one's seq misses none of the others (their latest changes come after
            # it). Once it has them all, it holds every alert as of upto.
            subscriber.sent_alert_seq = 0 if messages else upto
            if messages:
                messages[-1] = replace(messages[-1], seq=upto)
        else:
            subscriber.sent_alert_seq = after or 0
        subscriber.alerts.extend(messages)
        subscriber.alert_seq = upto
        if messages:
            subscriber.ready.set()

    async def _read_alert_changes(self, conn: Any) -> None:
        """Hands the alert changes committed since the last read to every alerts subscriber, in order."""
        queries = named_queries("alerts.sql")
        if self.alert_seq is None:
            row = await (await conn.execute(queries["last_alert_change"])).fetchone()
            self.alert_seq = int(row[0]) if row else 0
            return
        while True:
            rows = await (
                await conn.execute(
                    queries["alert_changes_after"], {"after": self.alert_seq, "upto": 2**62, "limit": 500}
                )
            ).fetchall()
            for seq, alert in rows:
                message = AlertMessage(seq, json.dumps(alert, separators=(",", ":"), ensure_ascii=False))
                for subscriber in list(self.subscribers):
                    if subscriber.wants_alerts:
                        subscriber.offer_alert(message)
                self.alert_seq = seq
            if len(rows) < 500:
                return

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if not any(s.filters == subscriber.filters for s in self.subscribers):
            self.states.pop(subscriber.filters, None)

    def close(self) -> None:
        """Ends every client stream (server shutdown)."""
        for subscriber in self.subscribers:
            subscriber.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes after every wake-up (a batch committed) and at every poll (time moves "today" on)."""
        while not stop.is_set():
            woken = asyncio.ensure_future(self.changed.wait())
            stopped = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait(
                {woken, stopped}, timeout=self.settings.stream_poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
            woken.cancel()
            stopped.cancel()
            self.changed.clear()
            if stop.is_set():
                break
            try:
                await self.publish(every_topic=woken not in done)
            except psycopg.Error as error:
                # The next wake-up or poll tries again; clients keep their connection.
                log.warning("reading what the stream shows failed: %s", error)

    async def publish(self, every_topic: bool = False) -> None:
        """Re-reads, per set of filters in use, the topics whose projections moved; sends what changed.

        every_topic: re-read them all, as time passing changes "today" and "a week ago".
        """
        async with self.lock:
            if any(s.wants_alerts for s in self.subscribers) or self.alert_seq is None:
                async with self.pool.connection() as conn:
                    await self._read_alert_changes(conn)
            wanted: dict[Filters, set[str]] = {}
            for subscriber in self.subscribers:
                wanted.setdefault(subscriber.filters, set()).update(subscriber.topics & set(METRIC_TOPICS))
            for filters, topics in wanted.items():
                state = self.states.setdefault(filters, FilterState())
                async with self.pool.connection() as conn:
                    checkpoints, fresh = await self._read_changed(conn, filters, topics, state, every_topic)
                changed = self._remember(state, checkpoints, fresh)
                for subscriber in list(self.subscribers):
                    if subscriber.filters == filters:
                        for message in changed:
                            if message.topic in subscriber.topics:
                                subscriber.offer(message)

    async def _read_changed(
        self, conn: Any, filters: Filters, topics: Iterable[str], state: FilterState, every_topic: bool
    ) -> tuple[Checkpoints, dict[str, TopicMessage]]:
        async with conn.transaction():
            checkpoints = await read_checkpoints(conn)
        stale = [t for t in topics if every_topic or state.read_at.get(t) != checkpoints.key(t)]
        if not stale:
            return checkpoints, {}
        return await read_topics(conn, stale, filters, restated_after=state.bookings_batch)

    def _remember(
        self, state: FilterState, checkpoints: Checkpoints, messages: dict[str, TopicMessage]
    ) -> list[TopicMessage]:
        """Keeps the new messages for later clients; returns those whose content changed."""
        changed = []
        for topic, message in messages.items():
            previous = state.messages.get(topic)
            state.read_at[topic] = checkpoints.key(topic)
            if previous is None or previous.content != message.content:
                changed.append(message)
            state.messages[topic] = message
        if "hourly" in messages:
            state.bookings_batch = checkpoints.batches.get("bookings", 0)
        return changed


def _sse(message: TopicMessage, first: bool, event_id: str) -> ServerSentEvent:
    return ServerSentEvent(
        data=message.json,
        event=message.topic,
        id=event_id,
        retry=RECONNECT_MILLISECONDS if first else None,
    )


def alert_seq_of(last_event_id: str) -> int | None:
    """The ;a<seq> part of a Last-Event-ID: the last alert change the client had; ValueError when malformed."""
    for part in last_event_id.split(";")[1:]:
        if part.startswith("a"):
            if not re.fullmatch(r"[0-9]{1,18}", part[1:]):
                raise ValueError(f"the alert part looks like a123, not {part[:30]!r}")
            return int(part[1:])
    return None


class BadStreamRequest(ValueError):
    pass


def parse_stream_request(request: Request) -> tuple[frozenset[str], Filters, LogPosition | None]:
    """Topics, filters and the position to resume from; BadStreamRequest names every problem."""
    problems = []
    unknown = sorted(set(request.query_params) - set(STREAM_PARAMETERS))
    if unknown:
        problems.append(f"unknown parameters {unknown}; the stream takes {list(STREAM_PARAMETERS)}")
    asked = [t.strip() for t in request.query_params.get("topics", ",".join(ALL_TOPICS)).split(",") if t.strip()]
    wrong = [topic for topic in asked if topic not in ALL_TOPICS]
    if wrong or not asked:
        problems.append(f"unknown topics {wrong}; the topics are {list(ALL_TOPICS)}")
    filters, wrong_filters = Filters.from_query(request.query_params)
    problems += wrong_filters
    resume_from = None
    last_event_id = request.headers.get("last-event-id")
    if last_event_id:
        try:
            resume_from = LogPosition.parse(last_event_id.split(";")[0])
            alert_seq_of(last_event_id)
        except ValueError as error:
            problems.append(f"Last-Event-ID: {error}")
    if problems:
        raise BadStreamRequest("; ".join(problems))
    return frozenset(asked), filters, resume_from


@requires("read")
async def stream(request: Request) -> Response:
    broadcaster: Broadcaster = request.state.broadcaster
    settings: Settings = request.state.settings
    try:
        topics, filters, resume_from = parse_stream_request(request)
    except BadStreamRequest as bad:
        return JSONResponse({"error": str(bad)}, status_code=400)
    if request.method == "HEAD":
        # No body will be read: subscribing would leave a client behind that never leaves.
        return Response(media_type="text/event-stream", headers={"Cache-Control": "no-store"})
    last_event_id = request.headers.get("last-event-id") or ""
    try:
        subscriber = await broadcaster.subscribe(topics, filters, resume_from, alert_seq_of(last_event_id))
    except TooManyClients:
        return JSONResponse(
            {"error": f"this server has its {settings.stream_max_clients} stream clients; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    async def events() -> AsyncIterator[bytes]:
        first = True
        try:
            while not subscriber.closed:
                await subscriber.ready.wait()
                # Alerts first: a fresh client gets the current alerts before any metric message, so that the
                # ;a<seq> of every id it holds covers all it has been sent (docs/stream.md). Everything
                # pending goes out in one write; a metric message is encoded once for all its clients.
                frames: list[bytes] = []
                for alert in subscriber.take_alerts():
                    subscriber.sent_alert_seq = max(subscriber.sent_alert_seq, alert.seq)
                    event = ServerSentEvent(
                        data=alert.json,
                        event="alert",
                        id=subscriber.event_id(),
                        retry=RECONNECT_MILLISECONDS if first else None,
                    )
                    frames.append(event.encode())
                    first = False
                for message in subscriber.take():
                    subscriber.position = message.position
                    if first or subscriber.wants_alerts:
                        frames.append(_sse(message, first, subscriber.event_id()).encode())
                    else:
                        frames.append(message.frame)
                    first = False
                if frames:
                    broadcaster.messages_sent += len(frames)
                    yield b"".join(frames)
        finally:
            broadcaster.unsubscribe(subscriber)

    return EventSourceResponse(
        events(),
        ping=int(settings.sse_ping_seconds),
        send_timeout=settings.sse_send_timeout,
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
    )


async def wait_until_passed(
    pool: AsyncConnectionPool[Any], projections: Iterable[str], position: LogPosition, timeout: float
) -> bool:
    """Waits until every named projection has applied the log up to position; False after timeout."""
    names = list(projections)
    deadline = asyncio.get_running_loop().time() + timeout
    delay = 0.01
    while True:
        async with pool.connection() as conn, conn.transaction():
            checkpoints = await read_checkpoints(conn)
        if all(checkpoints.positions.get(name, LogPosition(0, 0)) >= position for name in names):
            return True
        if asyncio.get_running_loop().time() + delay > deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)


def parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be an RFC 3339 time such as 2026-11-26T09:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} needs a UTC offset")
    if not EARLIEST_TIME <= moment <= LATEST_TIME:
        raise ValueError(f"{name} must lie between 2000 and 2100")
    return moment
