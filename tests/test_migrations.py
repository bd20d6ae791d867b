"""Migrations: up, down and up again give the same catalog; the analyst contract is documented."""

from typing import Any

import psycopg
from alembic import command

from tests.conftest import alembic_config

CATALOG = """
select 'column' as kind, table_schema || '.' || table_name || '.' || column_name || ' ' || data_type as name
from information_schema.columns where table_schema in ('pulse', 'analytics')
union all
select 'index', schemaname || '.' || indexname || ' ' || indexdef from pg_indexes
where schemaname in ('pulse', 'analytics')
union all
select 'trigger', event_object_schema || '.' || trigger_name || ' ' || action_timing || ' ' || event_manipulation
from information_schema.triggers where trigger_schema = 'pulse'
union all
select 'view', schemaname || '.' || viewname || ' ' || definition from pg_views where schemaname = 'analytics'
union all
select 'hypertable', hypertable_schema || '.' || hypertable_name from timescaledb_information.hypertables
order by 1, 2
"""


def catalog(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in conn.execute(CATALOG).fetchall()]


def schemas(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("select nspname from pg_namespace where nspname in ('pulse', 'analytics')").fetchall()
    return {row[0] for row in rows}


def test_up_down_up_gives_the_same_schema(database_url: str, db: psycopg.Connection[Any]) -> None:
    migrated = catalog(db)
    assert ("hypertable", "pulse.events") in migrated

    command.downgrade(alembic_config(database_url), "base")
    assert schemas(db) == set()
    assert db.execute("select count(*) from alembic_version").fetchone() == (0,)

    command.upgrade(alembic_config(database_url), "head")
    assert catalog(db) == migrated


def test_analytics_holds_only_documented_views(db: psycopg.Connection[Any]) -> None:
    relations = db.execute(
        "select c.relname, c.relkind, obj_description(c.oid) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'analytics'"
    ).fetchall()
    assert relations, "schema analytics is empty"
    for name, kind, comment in relations:
        assert kind == "v", f"analytics.{name} is not a view"
        assert comment, f"analytics.{name} has no COMMENT"
    undocumented = db.execute(
        "select c.relname, a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'analytics' and a.attnum > 0 and col_description(c.oid, a.attnum) is null"
    ).fetchall()
    assert undocumented == []


def test_bookings_hourly_columns_are_the_contract(db: psycopg.Connection[Any]) -> None:
    columns = db.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'analytics' and table_name = 'bookings_hourly' order by ordinal_position"
    ).fetchall()
    assert [c[0] for c in columns] == [
        "bucket",
        "destination",
        "booking_type",
        "currency",
        "bookings",
        "gross_revenue",
        "avg_booking_value",
    ]
