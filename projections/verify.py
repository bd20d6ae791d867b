"""pulse verify: the reconciliation invariant, checked against the raw events.

At every checkpoint, each projection's rollups equal a recompute from the
events up to that checkpoint. Each check reads the checkpoint, the rollups and
the events in one snapshot, so a worker committing meanwhile cannot skew it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from projections import ALL_PROJECTIONS
from projections.projection import Projection


class NothingToVerify(Exception):
    """A projection declares no verify query: passing it would be a lie."""


@dataclass(frozen=True)
class Mismatch:
    projection: str
    key: str
    projected: str | None
    recomputed: str | None


def verify(database_url: str, projections: Sequence[Projection] = ALL_PROJECTIONS) -> list[Mismatch]:
    """Every row where a projection differs from the recompute; empty when all agree."""
    unverifiable = [projection.name for projection in projections if not projection.verify_queries]
    if unverifiable:
        raise NothingToVerify(f"no verify query in sql/projections/<name>/verify.sql for: {', '.join(unverifiable)}")
    mismatches: list[Mismatch] = []
    with psycopg.connect(database_url) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            for projection in projections:
                conn.execute(projection.search_path())
                for check in projection.verify_queries.values():
                    rows: list[Any] = conn.execute(check, {"projection": projection.checkpoint}).fetchall()
                    mismatches += [Mismatch(projection.name, *row) for row in rows]
    return mismatches
