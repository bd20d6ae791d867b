"""pulse verify: the reconciliation invariant, checked against the raw events.

At every checkpoint, each projection's rollups equal a recompute from the
events up to that checkpoint. Each check reads the checkpoint, the rollups and
the events in one snapshot, so a worker committing meanwhile cannot skew it.
"""

from dataclasses import dataclass
from typing import Any

import psycopg

from app.sql import named_queries
from projections import ALL_PROJECTIONS


@dataclass(frozen=True)
class Mismatch:
    projection: str
    key: str
    projected: str | None
    recomputed: str | None


def verify(database_url: str) -> list[Mismatch]:
    """Every row where a projection differs from the recompute; empty when all agree."""
    mismatches: list[Mismatch] = []
    with psycopg.connect(database_url) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            for projection in ALL_PROJECTIONS:
                for name, check in named_queries("verify.sql").items():
                    if name == f"verify_{projection.name}" or name.startswith(f"verify_{projection.name}_"):
                        rows: list[Any] = conn.execute(check).fetchall()
                        mismatches += [Mismatch(projection.name, *row) for row in rows]
    return mismatches
