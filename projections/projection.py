"""What a projection is: a name, a version, the event types it reads and its SQL folder."""

from dataclasses import dataclass, field
from functools import cached_property
from importlib.resources.abc import Traversable
from typing import LiteralString

from psycopg import sql

from core.events import EVENT_TYPES
from core.sql import SQL_ROOT, parse_named, read_text


@dataclass(frozen=True)
class Projection:
    """A set of rollups kept current from the event log.

    Everything about it is declared here or in its SQL folder,
    sql/projections/<name>/:
    - tables.sql creates its tables, in schema pulse_<name> (pulse_<name>_rebuild
      during a replay);
    - batch.sql holds the statements each batch runs, in order, with search_path
      set to that schema. Each receives the batch bounds (start_xact_id,
      start_seq] to (end_xact_id, end_seq], batch_no (stamp it on the rows you
      change) and event_types (this projection's types). With
      reads_batch_table, the worker first copies the batch's events of those
      types into the temporary table pulse_batch (with holds_booking: whether a
      booking.created holds its booking_id), and the statements read it instead
      of each scanning pulse.events again (the types in read_from_log excepted);
    - verify.sql holds at least one query that returns the rows where the
      rollups differ from a recompute from the raw events, as (key, projected,
      recomputed), up to the checkpoint named by %(projection)s;
    - queries.sql (optional) holds queries other code runs on its tables.

    Changing what a projection computes means raising its version: the runner
    then rebuilds it from the log into fresh tables and swaps them in.
    """

    name: str
    version: int
    # The event types its batch statements read; each must be in the registry.
    event_types: tuple[str, ...]
    # Its statements read the batch from pulse_batch (worth it from two statements on).
    reads_batch_table: bool = False
    # Of its event types, those left out of pulse_batch: a type that one statement alone reads, and
    # from pulse.events itself, so that the others scan a smaller batch table.
    read_from_log: tuple[str, ...] = ()
    # Catching up on a backlog, its batches take up to this many events (projections/worker.py). With
    # the default batch size, 200,000 events a batch caught 10^6 events up 9 % faster than 40,000
    # (make bench's backlog, all four projections: 23.4-23.6 s against 25.8 s), and 500,000 no
    # faster than 200,000.
    backlog_batch_events: int = 200_000
    sql_dir: Traversable = field(default=SQL_ROOT, compare=False, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.event_types) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"projection {self.name} reads event types that do not exist: {', '.join(unknown)}")
        if set(self.read_from_log) - set(self.event_types):
            raise ValueError(f"projection {self.name} reads from the log types it does not read")
        if self.sql_dir is SQL_ROOT:
            object.__setattr__(self, "sql_dir", SQL_ROOT.joinpath("projections", self.name))

    @property
    def batch_table_types(self) -> list[str]:
        """The event types the worker copies into pulse_batch."""
        return [kind for kind in self.event_types if kind not in self.read_from_log]

    @property
    def schema(self) -> str:
        return f"pulse_{self.name}"

    @property
    def rebuild_schema(self) -> str:
        return f"pulse_{self.name}_rebuild"

    @property
    def checkpoint(self) -> str:
        """Its row in pulse.projection_checkpoints."""
        return self.name

    @property
    def rebuild_checkpoint(self) -> str:
        """The row of a rebuild under way (pulse replay, or a new version)."""
        return f"{self.name}.rebuild"

    def _named(self, file_name: str) -> dict[str, LiteralString]:
        file = self.sql_dir.joinpath(file_name)
        return parse_named(read_text(file)) if file.is_file() else {}

    @cached_property
    def statements(self) -> tuple[LiteralString, ...]:
        return tuple(self._named("batch.sql").values())

    @cached_property
    def verify_queries(self) -> dict[str, LiteralString]:
        return self._named("verify.sql")

    @cached_property
    def queries(self) -> dict[str, LiteralString]:
        return self._named("queries.sql")

    def create_tables(self, schema: str, *, with_schema: bool = True) -> sql.Composed:
        """Creates the projection's tables (and, unless with_schema is False, its schema) under a schema name."""
        return sql.SQL(
            "{create} set local search_path to {schema}, public; {tables}; set local search_path to default;"
        ).format(
            create=sql.SQL("create schema {};").format(sql.Identifier(schema)) if with_schema else sql.SQL(""),
            schema=sql.Identifier(schema),
            tables=sql.SQL(read_text(self.sql_dir.joinpath("tables.sql"))),
        )

    def search_path(self, schema: str | None = None) -> sql.Composed:
        """Points unqualified names at its tables (or a rebuild's) for the rest of the transaction."""
        return sql.SQL("set local search_path to {}, public").format(sql.Identifier(schema or self.schema))
