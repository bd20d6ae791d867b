"""Test databases: their URLs, and their catalogs for comparing schemas."""

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

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


@contextlib.contextmanager
def scratch_database(proc: Any, name: str) -> Iterator[str]:
    """A database cloned from the migrated template, as the `postgresql` fixture makes one, for a whole module.

    proc: the session's postgresql_proc. Loading minutes of traffic once and
    reading it from several tests (each in a transaction it rolls back) keeps them fast.
    """
    dbname = f"{name}_{uuid.uuid4().hex[:8]}"
    janitor = DatabaseJanitor(
        user=proc.user,
        host=proc.host,
        port=proc.port,
        dbname=dbname,
        template_dbname=proc.template_dbname,
        maintenance_dbname=proc.maintenance_dbname,
        password=proc.password,
    )
    with janitor:
        yield url_for(proc.host, proc.port, proc.user, dbname)
