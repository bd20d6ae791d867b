"""Places in the event log: the log position, and a projection's checkpoint."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

_POSITION = re.compile(r"([0-9]{1,20})/([0-9]{1,19})")


class LogPosition(NamedTuple):
    """A place in the event log: the writing transaction's id, then the insertion sequence."""

    xact_id: int
    seq: int

    def __str__(self) -> str:
        return f"{self.xact_id}/{self.seq}"

    @classmethod
    def parse(cls, text: str) -> "LogPosition":
        match = _POSITION.fullmatch(text)
        if match is None or int(match[1]) >= 2**64 or int(match[2]) >= 2**63:
            raise ValueError(f"a log position looks like 1234/5678, not {text[:40]!r}")
        return cls(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class Checkpoint:
    """A row of pulse.projection_checkpoints, as the named query `checkpoint` returns it."""

    position: LogPosition
    batch_no: int
    events_projected: int
    updated_at: datetime
    version: int
    # Bumped when a replay swapped in rebuilt tables.
    generation: int
    last_error: str | None
    last_error_at: datetime | None
    # Set once a failure is narrowed down to one event: the projection waits before it.
    last_error_event_id: UUID | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Checkpoint":
        return cls(
            position=LogPosition(row["xact_id"], row["seq"]),
            batch_no=row["batch_no"],
            events_projected=row["events_projected"],
            updated_at=row["updated_at"],
            version=row["version"],
            generation=row["generation"],
            last_error=row["last_error"],
            last_error_at=row["last_error_at"],
            last_error_event_id=row["last_error_event_id"],
        )

    @property
    def failing(self) -> bool:
        return self.last_error is not None
