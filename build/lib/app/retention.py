"""pulse retention: drop raw events older than a window; the rollups keep everything."""

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg

from core.sql import query
from projections import ALL_PROJECTIONS

_KEEP = re.compile(r"(\d+)([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
# Events are never older than 2000-01-01; a century is a safe ceiling.
MAX_KEEP_HOURS = 100 * 366 * 24


class RetentionError(Exception):
    pass


def parse_keep(text: str) -> str:
    """'400d' -> '400 days'; also hours (h) and weeks (w)."""
    match = _KEEP.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise RetentionError(f"--keep takes a duration such as 400d, 12w or 48h, not {text!r}")
    hours = int(match[1]) * {"h": 1, "d": 24, "w": 168}[match[2]]
    if hours > MAX_KEEP_HOURS:
        raise RetentionError(f"--keep {text} is longer than the log can be old (events start in 2000)")
    return f"{match[1]} {_UNITS[match[2]]}"


@dataclass(frozen=True)
class RetentionRun:
    cutoff: datetime | None
    chunks_dropped: int


def drop_old_events(database_url: str, keep: str) -> RetentionRun:
    """Drops the hypertable chunks wholly older than the cutoff, in one transaction."""
    with psycopg.connect(database_url) as conn, conn.transaction():
        hypertable = conn.execute("select exists (select 1 from pg_extension where extname = 'timescaledb')")
        found = hypertable.fetchone()
        if not (found and found[0]):
            raise RetentionError("retention drops TimescaleDB chunks; pulse.events is a plain table here")
        free = conn.execute(query("take_retention_lock")).fetchone()
        if not (free and free[0]):
            raise RetentionError("a projection replay is reading the whole log: run retention once it is done")
        conn.execute(query("lock_events_for_retention"))
        row = conn.execute(
            query("retention_cutoff_for"), {"keep": keep, "projections": [p.checkpoint for p in ALL_PROJECTIONS]}
        ).fetchone()
        assert row is not None
        cutoff = row[0]
        dropped = conn.execute(query("drop_chunks"), {"cutoff": cutoff}).fetchone()
        chunks = int(dropped[0]) if dropped else 0
        if chunks:
            # Replays and pulse verify need to know the log is no longer whole.
            conn.execute(query("record_retention"), {"keep": keep, "cutoff": cutoff, "chunks": chunks})
    return RetentionRun(cutoff=cutoff, chunks_dropped=chunks)
