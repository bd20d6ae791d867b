"""Runs SQL files from sql/ inside the migration's transaction."""

from alembic import op

from app.sql import read


def apply_files(relative_paths: list[str]) -> None:
    # The raw psycopg connection runs each file as written: no bind-parameter
    # parsing of colons or percent signs, several statements per file.
    driver_connection = op.get_bind().connection.driver_connection
    for path in relative_paths:
        driver_connection.execute(read(path))


def apply_sql(statement: str) -> None:
    op.get_bind().connection.driver_connection.execute(statement)
