"""Runs a revision's frozen SQL inside the migration's transaction.

Each revision NNNN_name.py applies NNNN_name.sql on upgrade and
NNNN_name.down.sql on downgrade: the SQL as it was when the revision was
written, never the current files of sql/, so adding a projection or changing a
view later never changes what an older revision does.
"""

from pathlib import Path
from typing import Any, Literal

from alembic import op


def _psycopg_connection() -> Any:
    # The raw psycopg connection runs the file as written: no bind-parameter
    # parsing of colons or percent signs, several statements per file.
    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    return connection


def frozen_sql(revision_file: str, direction: Literal["upgrade", "downgrade"]) -> Path:
    """The frozen SQL file beside a revision module."""
    module = Path(revision_file)
    suffix = ".sql" if direction == "upgrade" else ".down.sql"
    return module.with_name(module.stem + suffix)


def apply_frozen(revision_file: str, direction: Literal["upgrade", "downgrade"]) -> None:
    """Runs the revision's frozen upgrade or downgrade SQL."""
    _psycopg_connection().execute(frozen_sql(revision_file, direction).read_text(encoding="utf-8"))
