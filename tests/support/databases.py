"""Test databases: their URLs, and their catalogs for comparing schemas."""

from pathlib import Path
from typing import Any, LiteralString

import psycopg

CATALOG_SQL = Path(__file__).with_name("catalog.sql")


def url_for(host: str, port: int, user: str, dbname: str) -> str:
    return f"postgresql://{user}@{host}:{port}/{dbname}"


def catalog(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Every object of Booking Pulse's schemas, with its definition, as (kind, description) in a stable order."""
    query: LiteralString = CATALOG_SQL.read_text(encoding="utf-8")
    return [(row[0], row[1]) for row in conn.execute(query).fetchall()]


def our_schemas(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "select nspname from pg_namespace where nspname in ('pulse', 'analytics') or nspname like 'pulse\\_%'"
    ).fetchall()
    return {row[0] for row in rows}
