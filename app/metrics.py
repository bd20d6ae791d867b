"""What dashboards see: each topic's figures for a set of filters, read in one snapshot.

The stream (app/stream.py) and the JSON snapshots under /v1/metrics/ both
read through here, so a snapshot is exactly the data of the stream message for
the same topic and filters (docs/stream.md).
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from core.log import LogPosition
from core.sql import named_queries
from projections import BOOKINGS, CONVERSION

# Which projections each metric topic reads: its message is consistent with the
# oldest of their checkpoints.
TOPIC_PROJECTIONS: dict[str, tuple[str, ...]] = {
    "kpis": (BOOKINGS.checkpoint, CONVERSION.checkpoint),
    "hourly": (BOOKINGS.checkpoint,),
    "top_destinations": (BOOKINGS.checkpoint,),
    "booking_types": (BOOKINGS.checkpoint,),
    "funnel": (CONVERSION.checkpoint,),
}
METRIC_TOPICS: tuple[str, ...] = tuple(TOPIC_PROJECTIONS)
ALERTS_TOPIC = "alerts"
ALL_TOPICS: tuple[str, ...] = (*METRIC_TOPICS, ALERTS_TOPIC)
HOURLY_WINDOW = timedelta(hours=48)
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_HOURLY_RANGE = timedelta(days=31)


def _queries() -> dict[str, Any]:
    return named_queries("metrics.sql")


@dataclass(frozen=True)
class Filters:
    destination: str | None = None
    booking_type: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> tuple["Filters", list[str]]:
        """The filters of a query string, and what is wrong with them (text the database cannot compare)."""
        filters = cls(destination=params.get("destination") or None, booking_type=params.get("booking_type") or None)
        problems = []
        for name, value in filters.params().items():
            if value is not None and (len(value) > 200 or "\x00" in value or _SURROGATE.search(value)):
                problems.append(f"{name} must be text of at most 200 characters, without NUL or lone surrogates")
        return filters, problems

    def params(self) -> dict[str, str | None]:
        return {"destination": self.destination, "booking_type": self.booking_type}

    def applied(self, topic: str) -> dict[str, str | None]:
        """The filters a topic's figures honour: the funnel has no booking type."""
        if topic in ("funnel",):
            return {"destination": self.destination, "booking_type": None}
        return self.params()


@dataclass(frozen=True)
class Checkpoints:
    """Where the projections stood in the snapshot the figures were read in."""

    positions: dict[str, LogPosition]
    batches: dict[str, int]
    generations: dict[str, int]

    def position_for(self, topic: str) -> LogPosition:
        return min(self.positions.get(name, LogPosition(0, 0)) for name in TOPIC_PROJECTIONS[topic])

    def key(self, topic: str) -> tuple[tuple[int, int], ...]:
        """Changes whenever a projection the topic reads commits a batch or is swapped."""
        return tuple((self.batches.get(name, 0), self.generations.get(name, 0)) for name in TOPIC_PROJECTIONS[topic])


@dataclass(frozen=True)
class TopicMessage:
    """One topic's whole current state for a set of filters: a stream message, or a snapshot."""

    topic: str
    filters: Filters
    position: LogPosition
    data: dict[str, Any] = field(compare=False)

    @cached_property
    def json(self) -> str:
        """Serialized once, however many clients receive it."""
        return json.dumps(self.data, separators=(",", ":"), default=_json_default, ensure_ascii=False)

    @cached_property
    def frame(self) -> bytes:
        """The server-sent event carrying it (id: its position), encoded once for every client that gets it."""
        return f"id: {self.position}\r\nevent: {self.topic}\r\ndata: {self.json}\r\n\r\n".encode()

    @cached_property
    def content(self) -> str:
        """The data without the moment it was read: equal contents need not be sent again."""
        return json.dumps(
            {k: v for k, v in self.data.items() if k != "as_of"}, default=_json_default, separators=(",", ":")
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _number(value: Decimal | int | None) -> int | float | None:
    """Counts as JSON numbers: whole ones as integers, prorated ones with their decimals."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _change(value: Decimal | int | None, week_ago: Decimal | int | None) -> float | None:
    if value is None or week_ago is None or week_ago == 0:
        return None
    return round(float((Decimal(value) - Decimal(week_ago)) / Decimal(week_ago)), 4)


async def read_checkpoints(conn: AsyncConnection[Any]) -> Checkpoints:
    cur = conn.cursor(row_factory=dict_row)
    names = sorted({name for names in TOPIC_PROJECTIONS.values() for name in names})
    rows = await (await cur.execute(_queries()["checkpoints"], {"projections": names})).fetchall()
    return Checkpoints(
        positions={row["projection"]: LogPosition(row["xact_id"], row["seq"]) for row in rows},
        batches={row["projection"]: row["batch_no"] for row in rows},
        generations={row["projection"]: row["generation"] for row in rows},
    )


async def read_topics(
    conn: AsyncConnection[Any],
    topics: Iterable[str],
    filters: Filters,
    *,
    restated_after: int | None = None,
    hourly_range: tuple[datetime, datetime] | None = None,
) -> tuple[Checkpoints, dict[str, TopicMessage]]:
    """The figures of each metric topic, all consistent with the checkpoints read in the same snapshot.

    restated_after: the bookings batch after which changed past hours are
    listed in the hourly message's `restated` (None: none are).
    """
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("set transaction isolation level repeatable read, read only")
        checkpoints = await read_checkpoints(conn)
        reporting = await (await cur.execute(_queries()["reporting"])).fetchone()
        assert reporting is not None
        messages: dict[str, TopicMessage] = {}
        for topic in topics:
            if topic not in TOPIC_PROJECTIONS:
                continue
            if topic == "hourly":
                data = await _hourly(cur, filters, reporting, restated_after, hourly_range)
            else:
                data = await READERS[topic](cur, filters, reporting)
            data = {"position": str(checkpoints.position_for(topic)), **data, "filters": filters.applied(topic)}
            messages[topic] = TopicMessage(topic, filters, checkpoints.position_for(topic), data)
    return checkpoints, messages


async def _kpis(cur: Any, filters: Filters, reporting: dict[str, Any]) -> dict[str, Any]:
    row = await (await cur.execute(_queries()["kpis"], filters.params())).fetchone()
    assert row is not None
    metrics: dict[str, Any] = {}
    for name, show in (
        ("bookings", _number),
        ("revenue", _money),
        ("avg_booking_value", _money),
        ("conversion_rate", lambda v: None if v is None else float(v)),
        ("cancellations", _number),
    ):
        value, week_ago = row[name], row[f"{name}_week_ago"]
        metrics[name] = {"value": show(value), "week_ago": show(week_ago), "change": _change(value, week_ago)}
    return {
        "as_of": row["as_of"],
        "day": row["day"],
        "timezone": row["timezone"],
        "currency": reporting["currency"],
        "metrics": metrics,
        "missing_rates": row["missing_rates"],
    }


async def _hourly(
    cur: Any,
    filters: Filters,
    reporting: dict[str, Any],
    restated_after: int | None,
    hourly_range: tuple[datetime, datetime] | None,
) -> dict[str, Any]:
    if hourly_range is None:
        now = datetime.now(UTC)
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        start, end = this_hour - HOURLY_WINDOW + timedelta(hours=1), this_hour + timedelta(hours=1)
    else:
        start, end = hourly_range
    rows = await (await cur.execute(_queries()["hourly"], {**filters.params(), "from": start, "to": end})).fetchall()
    missing = sorted({currency for row in rows for currency in (row["missing_rates"] or [])})
    restated: list[datetime] = []
    if restated_after is not None:
        changed = await (
            await cur.execute(
                _queries()["hourly_changed"], {**filters.params(), "from": start, "after_batch": restated_after}
            )
        ).fetchall()
        current_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        restated = [row["bucket"] for row in changed if row["bucket"] < min(current_hour, end)]
    return {
        "currency": reporting["currency"],
        "timezone": reporting["timezone"],
        "from": start,
        "to": end,
        "points": [
            {"hour": row["hour"], "bookings": row["bookings"], "revenue": _money(row["revenue"])} for row in rows
        ],
        "restated": restated,
        "missing_rates": missing,
    }


async def _ranked(cur: Any, filters: Filters, reporting: dict[str, Any], query: str, key: str) -> dict[str, Any]:
    rows = await (await cur.execute(_queries()[query], filters.params())).fetchall()
    return {
        "currency": reporting["currency"],
        "period": "today",
        "rows": [{key: row[key], "bookings": row["bookings"], "revenue": _money(row["revenue"])} for row in rows],
        "missing_rates": sorted({c for row in rows for c in (row["missing_rates"] or [])}),
    }


async def _top_destinations(cur: Any, filters: Filters, reporting: dict[str, Any]) -> dict[str, Any]:
    return await _ranked(cur, filters, reporting, "top_destinations", "destination")


async def _booking_types(cur: Any, filters: Filters, reporting: dict[str, Any]) -> dict[str, Any]:
    return await _ranked(cur, filters, reporting, "booking_types", "booking_type")


async def _funnel(cur: Any, filters: Filters, reporting: dict[str, Any]) -> dict[str, Any]:
    row = await (await cur.execute(_queries()["funnel"], filters.params())).fetchone()
    assert row is not None
    return {"period": "today", "searches": row["searches"], "checkouts": row["checkouts"], "bookings": row["bookings"]}


READERS = {
    "kpis": _kpis,
    "top_destinations": _top_destinations,
    "booking_types": _booking_types,
    "funnel": _funnel,
}


async def batch_at(conn: AsyncConnection[Any], projection: str, position: LogPosition) -> int | None:
    """The projection's last batch that ended at or before a position; None when no batch that old is remembered."""
    async with conn.transaction():
        row = await (
            await conn.execute(
                _queries()["batch_at"], {"projection": projection, "xact_id": position.xact_id, "seq": position.seq}
            )
        ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


async def dimensions(conn: AsyncConnection[Any]) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    row = await (await cur.execute(_queries()["dimensions"])).fetchone()
    assert row is not None
    return {"destinations": row["destinations"], "booking_types": row["booking_types"]}
