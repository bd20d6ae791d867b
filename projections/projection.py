"""What a projection is: a name, a version, its tables and its set-wise statements."""

from dataclasses import dataclass
from typing import LiteralString

from psycopg import sql

from app.sql import named_queries, read


@dataclass(frozen=True)
class Projection:
    """A set of rollups kept current from the event log.

    Its tables live in their own schema, pulse_<name>, created from
    sql/projections/<name>/tables.sql. Each statement of
    sql/projections/<name>/batch.sql aggregates one batch straight from
    pulse.events and upserts the result, with search_path set to that schema.
    It receives the batch bounds (start_xact_id, start_seq] to (end_xact_id,
    end_seq] and batch_no, which it stamps on the rows it changes.

    Changing what a projection computes means raising its version: workers then
    rebuild it from the log into fresh tables and swap them in.
    """

    name: str
    version: int

    @property
    def schema(self) -> str:
        return f"pulse_{self.name}"

    @property
    def rebuild_schema(self) -> str:
        return f"pulse_{self.name}_rebuild"

    @property
    def statements(self) -> tuple[LiteralString, ...]:
        return tuple(named_queries(f"projections/{self.name}/batch.sql").values())

    def create_tables(self, schema: str) -> sql.Composed:
        """Creates the projection's schema and tables under the given schema name."""
        return sql.SQL(
            "create schema {schema}; set local search_path to {schema}, public; {tables}; "
            "set local search_path to default;"
        ).format(schema=sql.Identifier(schema), tables=sql.SQL(read(f"projections/{self.name}/tables.sql")))
