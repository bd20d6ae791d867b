"""What a projection is: a name, a version and its set-wise statements."""

from dataclasses import dataclass
from typing import LiteralString


@dataclass(frozen=True)
class Projection:
    """A rollup kept current from the event log.

    Each statement aggregates one batch straight from pulse.events and upserts
    the result. It receives the batch bounds (start_xact_id, start_seq] to
    (end_xact_id, end_seq] and batch_no, which it stamps on the rows it changes.
    """

    name: str
    version: int
    statements: tuple[LiteralString, ...]
