"""Runs SQL files from sql/ inside the migration's transaction."""

from typing import Any

from alembic import op
from psycopg import sql

from app.sql import read


def _psycopg_connection() -> Any:
    # The raw psycopg connection runs each file as written: no bind-parameter
    # parsing of colons or percent signs, several statements per file.
    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    return connection


def apply_files(relative_paths: list[str]) -> None:
    connection = _psycopg_connection()
    for path in relative_paths:
        connection.execute(read(path))


def apply_sql(statement: str) -> None:
    _psycopg_connection().execute(statement)


def apply_statement(statement: sql.Composable) -> None:
    _psycopg_connection().execute(statement)
