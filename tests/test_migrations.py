"""Migrations: up, down and up again give the same catalog; the analyst contract is documented."""

from typing import Any

import psycopg
from alembic import command

from tests.conftest import alembic_config

CATALOG = """
with our_schemas as (
  select nspname from pg_namespace where nspname in ('pulse', 'analytics') or nspname like 'pulse\\_%%'
)
select 'column' as kind, table_schema || '.' || table_name || '.' || column_name || ' ' || data_type as name
from information_schema.columns where table_schema in (select * from our_schemas)
union all
select 'index', schemaname || '.' || indexname || ' ' || indexdef from pg_indexes
where schemaname in (select * from our_schemas)
union all
select 'trigger', event_object_schema || '.' || trigger_name || ' ' || action_timing || ' ' || event_manipulation
from information_schema.triggers where trigger_schema in (select * from our_schemas)
union all
select 'view', schemaname || '.' || viewname || ' ' || definition from pg_views
where schemaname in (select * from our_schemas)
union all
select 'function', n.nspname || '.' || p.proname || ' ' || md5(p.prosrc) from pg_proc p
join pg_namespace n on n.oid = p.pronamespace where n.nspname in (select * from our_schemas)
union all
select 'hypertable', hypertable_schema || '.' || hypertable_name from timescaledb_information.hypertables
order by 1, 2
"""


def catalog(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in conn.execute(CATALOG).fetchall()]


def schemas(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute(
        "select nspname from pg_namespace where nspname in ('pulse', 'analytics') or nspname like 'pulse\\_%'"
    ).fetchall()
    return {row[0] for row in rows}


def test_up_down_up_gives_the_same_schema(database_url: str, db: psycopg.Connection[Any]) -> None:
    migrated = catalog(db)
    assert ("hypertable", "pulse.events") in migrated

    command.downgrade(alembic_config(database_url), "base")
    assert schemas(db) == set()
    assert db.execute("select count(*) from alembic_version").fetchone() == (0,)

    command.upgrade(alembic_config(database_url), "head")
    assert catalog(db) == migrated


# Tables analysts may read and change; everything else in analytics is a view.
ANALYTICS_TABLES = {"settings", "fx_rates", "customer_segment_rules"}


def test_analytics_holds_only_documented_views_and_settings(db: psycopg.Connection[Any]) -> None:
    relations = db.execute(
        "select c.relname, c.relkind, obj_description(c.oid) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'analytics' and c.relkind <> 'i'"
    ).fetchall()
    assert relations, "schema analytics is empty"
    for name, kind, comment in relations:
        assert kind == "v" or name in ANALYTICS_TABLES, f"analytics.{name} is neither a view nor a settings table"
        assert comment, f"analytics.{name} has no COMMENT"
    undocumented = db.execute(
        "select c.relname, a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'analytics' and c.relkind in ('v', 'r') and a.attnum > 0 and not a.attisdropped "
        "and col_description(c.oid, a.attnum) is null and a.attname <> 'only_row'"
    ).fetchall()
    assert undocumented == []


METRICS = [
    "bookings",
    "gross_revenue",
    "modifications",
    "cancellations",
    "refunds",
    "net_revenue",
    "avg_booking_value",
    "unique_customers",
    "booking_value_p50",
    "booking_value_p95",
]
# The names analysts code against: the views must have at least these columns.
CONTRACT = {
    "bookings_hourly": ["bucket", "destination", "booking_type", "channel", "currency", *METRICS],
    "bookings_daily": ["day", "destination", "booking_type", "channel", "currency", *METRICS],
    "kpis_today": ["bookings", "revenue", "avg_booking_value", "conversion_rate", "cancellations"],
    "top_destinations": ["period", "rank", "destination", "bookings", "gross_revenue", "net_revenue"],
    "revenue_by_booking_type": ["period", "booking_type", "bookings", "gross_revenue", "net_revenue"],
    "conversion_hourly": [
        "bucket",
        "destination",
        "searches",
        "checkouts",
        "bookings",
        "search_to_booking_rate",
        "checkout_to_booking_rate",
    ],
    "bookings": ["booking_id", "status", "current_total", "amount_paid", "amount_refunded"],
    "customer_lifetime": [
        "customer_id",
        "lifetime_bookings",
        "lifetime_net_value",
        "first_booking_at",
        "last_booking_at",
        "avg_booking_value",
        "segment",
        "journey_stage",
    ],
    "legacy_daily_report": ["booking_date", "total_bookings", "revenue", "avg_booking_value"],
    "legacy_customer_analytics": ["customer_id", "lifetime_bookings", "lifetime_value", "last_booking_date"],
}


def test_the_views_have_the_contract_columns(db: psycopg.Connection[Any]) -> None:
    for view, wanted in CONTRACT.items():
        columns = db.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'analytics' and table_name = %s order by ordinal_position",
            (view,),
        ).fetchall()
        missing = set(wanted) - {c[0] for c in columns}
        assert not missing, f"analytics.{view} lacks {sorted(missing)}"
    exact = db.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'analytics' and table_name = 'legacy_daily_report' order by ordinal_position"
    ).fetchall()
    assert [c[0] for c in exact] == CONTRACT["legacy_daily_report"]
