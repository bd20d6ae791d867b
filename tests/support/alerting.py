"""Alerts in tests: loading traffic for the detector, running it as of a moment, making and reading alerts."""

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from app.alerts import RunSummary, detect
from core.settings import Settings
from core.sql import query
from projections import SIGNALS, Projection
from tests.support.pipeline import drain


def minute_now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def load(settings: Settings, events: list[dict[str, Any]], projections: tuple[Projection, ...] = (SIGNALS,)) -> None:
    """Stores generated (valid) events through the write contract, as a bulk loader does, and applies them.

    Tens of thousands of events for the detector: they skip the API's per-event validation
    (tests/test_ingest.py covers it), not pulse.append_events.
    """

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            await conn.execute("set role pulse_ingest")
            for start in range(0, len(events), 5000):
                chunk = events[start : start + 5000]
                rows = await (
                    await conn.execute(
                        query("append_events"),
                        {
                            "event_ids": [e["event_id"] for e in chunk],
                            "types": [e["type"] for e in chunk],
                            "occurred_ats": [e["occurred_at"] for e in chunk],
                            "datas": [Jsonb(e["data"]) for e in chunk],
                        },
                    )
                ).fetchall()
                assert len(rows) == len(chunk) and not any(row[3] for row in rows), "an event was not stored"
            await conn.commit()
        await drain(settings, batch_size=20000, projections=projections)

    asyncio.run(run())


def run_detector(settings: Settings, now: datetime) -> RunSummary:
    async def run() -> RunSummary:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            return await detect(conn, now)

    return asyncio.run(run())


def alerts(db: psycopg.Connection[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The alerts by kind and subject (the latest of each)."""
    cur = db.cursor(row_factory=dict_row)
    rows = cur.execute("select * from analytics.alerts order by id").fetchall()
    return {(row["kind"], row["subject"]): row for row in rows}


def open_alert(
    db: psycopg.Connection[Any],
    kind: str = "revenue_drop",
    subject: str = "destination=Lisbon",
    severity: str = "warning",
    at: datetime | None = None,
) -> int:
    """Opens an alert as the detector would (an INSERT; the trigger records the change)."""
    at = at or datetime.now(UTC)
    row = db.execute(
        "insert into analytics.alerts (opened_at, kind, subject, observed, expected, severity, details, rule, "
        'last_seen_at) values (%s, %s, %s, 12, 40, %s, \'{"unit": "count"}\', %s, %s) returning id',
        (at, kind, subject, severity, kind, at),
    ).fetchone()
    assert row is not None
    return int(row[0])


def set_alert(db: psycopg.Connection[Any], alert_id: int, **columns: Any) -> None:
    """Changes an alert's columns (status, severity, resolved_at, ...) with an UPDATE, as people and the detector do."""
    assignments = ", ".join(f"{name} = %({name})s" for name in columns)
    db.execute(f"update analytics.alerts set {assignments} where id = %(id)s", {**columns, "id": alert_id})


def alert_changes(db: psycopg.Connection[Any], after: int = 0) -> list[tuple[int, int, str]]:
    """(seq, alert id, change) of every alert change after a seq, in order."""
    rows = db.execute(
        "select seq, alert_id, change from pulse.alert_changes where seq > %s order by seq", (after,)
    ).fetchall()
    return [(int(seq), int(alert_id), change) for seq, alert_id, change in rows]


def only_rules(conn: psycopg.Connection[Any], rules: Iterable[str]) -> None:
    """Leaves only these rules of analytics.alert_rules enabled (in the caller's transaction)."""
    conn.execute("update analytics.alert_rules set enabled = rule = any(%s)", (list(rules),))


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
