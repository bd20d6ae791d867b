"""Projections: workers that fold the event log into analytics rollups.

Each runs on its own, with its own checkpoint: a failure in one stops only it.
Declaring a projection here, with its SQL folder, is all it takes to run,
replay and verify it.
"""

from typing import Any

import psycopg

from core import sql as schema_files
from projections.projection import Projection

# bookings: booking histories, booking state, the hourly rollup and the daily ones by local date.
# Version 2: days are each event's local date (any time zone); destinations_daily.
BOOKINGS = Projection(
    name="bookings",
    version=2,
    event_types=("booking.created", "booking.modified", "booking.cancelled", "payment.captured"),
    reads_batch_table=True,
)
# conversion: searches, checkouts and bookings per hour and destination.
CONVERSION = Projection(
    name="conversion",
    version=1,
    event_types=("search.performed", "checkout.started", "booking.created"),
)
# customers: per customer activity and the legacy customer figures.
CUSTOMERS = Projection(
    name="customers",
    version=1,
    event_types=("customer.registered", "search.performed", "checkout.started", "booking.created"),
    # Each batch of a backlog rewrites most customers: fewer, larger batches rewrite each fewer times.
    # Make bench's database (1.5*10^6 events), alternating: 4.43-4.51 s with batches of up to 10^6
    # events, 4.71-4.86 s with 200,000. Conversion's catch-up did not change (3.29-3.30 s, 3.33 s).
    backlog_batch_events=1_000_000,
)

# signals: per-minute bookings, revenue, cancellations, payments and searches for the alert detector.
SIGNALS = Projection(
    name="signals",
    version=1,
    event_types=(
        "booking.created",
        "booking.modified",
        "booking.cancelled",
        "payment.captured",
        "payment.failed",
        "search.performed",
    ),
    reads_batch_table=True,
    # Searches, 60 % of a batch's events here, are only counted (count_searches).
    read_from_log=("search.performed",),
)

ALL_PROJECTIONS: tuple[Projection, ...] = (BOOKINGS, CONVERSION, CUSTOMERS, SIGNALS)


def projection_named(name: str, projections: tuple[Projection, ...] = ALL_PROJECTIONS) -> Projection:
    for projection in projections:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in projections)
    raise LookupError(f"no projection named {name!r}; there are: {known}")


def create_current_schema(conn: psycopg.Connection[Any], projections: tuple[Projection, ...] = ALL_PROJECTIONS) -> None:
    """Builds the schema straight from the files of sql/, in one transaction.

    `alembic upgrade head` must give the same catalog; a test checks it.
    """
    with conn.transaction():
        conn.execute(schema_files.tables_script())
        for projection in projections:
            conn.execute(projection.create_tables(projection.schema))
        conn.execute(schema_files.replaceable_objects())
        conn.execute(schema_files.triggers_script())
        conn.execute(schema_files.roles_script())


__all__ = [
    "ALL_PROJECTIONS",
    "BOOKINGS",
    "CONVERSION",
    "CUSTOMERS",
    "SIGNALS",
    "Projection",
    "create_current_schema",
    "projection_named",
]
