"""Migrations: frozen SQL per revision, head equal to the files of sql/, up and down again."""

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from psycopg import sql

import projections
from core.migrate import alembic_config
from core.settings import Settings
from core.sql import read
from projections import Projection, create_current_schema
from tests.support.databases import catalog, our_schemas, url_for
from tests.support.events import make_event
from tests.support.pipeline import append, drain


@pytest.fixture
def empty_database(postgresql: psycopg.Connection[Any]) -> Iterator[str]:
    """A database with nothing in it, on the test cluster."""
    info = postgresql.info
    name = f"empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url_for(info.host, info.port, info.user, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        try:
            yield url_for(info.host, info.port, info.user, name)
        finally:
            admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def test_up_down_up_gives_the_same_schema(database_url: str, db: psycopg.Connection[Any]) -> None:
    migrated = catalog(db)
    assert ("hypertable", "pulse.events occurred_at 7 days") in migrated

    command.downgrade(alembic_config(database_url), "base")
    assert our_schemas(db) == set()
    assert db.execute("select count(*) from alembic_version").fetchone() == (0,)

    command.upgrade(alembic_config(database_url), "head")
    assert catalog(db) == migrated


def test_revision_0020_keeps_what_earlier_imports_recorded(database_url: str, db: psycopg.Connection[Any]) -> None:
    """Keying pulse.legacy_rows by import id, and undoing it, keeps every row an import recorded."""
    command.downgrade(alembic_config(database_url), "0019")
    db.execute(
        "insert into pulse.legacy_imports (source, legacy_table, watermark_column) "
        "values ('oldschool', 'bookings', 'updated_at'), ('oldschool', 'payments', 'id')"
    )
    recorded = [
        ("oldschool", "bookings", "1", 0, "legacy-1", "imported", 10, "EUR", False, 0, None),
        ("oldschool", "bookings", "1", 1, "legacy-1", "duplicate", None, None, False, 0, [{"field": "id"}]),
        ("oldschool", "payments", "1", 0, None, "quarantined", None, None, False, 0, [{"field": "amount"}]),
    ]
    with db.cursor() as cur:
        cur.executemany(
            "insert into pulse.legacy_rows values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
            [(*row[:-1], None if row[-1] is None else json.dumps(row[-1])) for row in recorded],
        )
    columns = "row_key, ordinal, booking_id, outcome, total, currency, cancelled, modifications, reasons"
    by_names = f"select source, legacy_table, {columns} from pulse.legacy_rows order by 1, 2, 3, 4"
    by_import_id = (
        f"select i.source, i.legacy_table, {columns} "
        "from pulse.legacy_rows r join pulse.legacy_imports i on i.id = r.import_id order by 1, 2, 3, 4"
    )

    command.upgrade(alembic_config(database_url), "0020")
    assert db.execute(by_import_id).fetchall() == recorded

    command.downgrade(alembic_config(database_url), "0019")
    assert db.execute(by_names).fetchall() == recorded
    command.upgrade(alembic_config(database_url), "head")


def test_revision_0022_holds_early_events_and_keeps_each_creation_once(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    """Before 0022 a booking's creation was in booking_events too, and nothing listed held bookings.

    Undone, each creation is back in booking_events at its own position; redone, the bookings
    waiting for their creation are in held, and the creation that arrives afterwards is applied
    with what waited for it.
    """
    settings = Settings(database_url=database_url)
    at = datetime(2026, 5, 4, 10, tzinfo=UTC)
    events = [
        make_event("booking.created", at, booking_id="b-1", total_amount="100.00", currency="EUR"),
        make_event("payment.captured", at, booking_id="b-1", amount="40.00", currency="EUR"),
        make_event("booking.modified", at, booking_id="b-2", total_amount="300.00", currency="EUR"),
        make_event("payment.captured", at, booking_id="b-2", amount="25.00", currency="EUR"),
    ]
    asyncio.run(append(database_url, events))
    asyncio.run(drain(settings, batch_size=10, projections=(projections.BOOKINGS,)))
    held = "select booking_id, events from analytics.held_booking_events order by 1"
    creations = "select booking_id, seq from pulse_bookings.booking_events where type = 'booking.created'"
    assert db.execute(held).fetchall() == [("b-2", 2)]
    assert db.execute(creations).fetchall() == []

    command.downgrade(alembic_config(database_url), "0021")
    first_seq = db.execute("select min(seq) from pulse.events").fetchone()
    assert first_seq is not None
    assert db.execute(creations).fetchall() == [("b-1", first_seq[0])]
    assert db.execute(held).fetchall() == [("b-2", 2)]

    command.upgrade(alembic_config(database_url), "head")
    assert db.execute("select booking_id from pulse_bookings.held").fetchall() == [("b-2",)]
    assert db.execute(creations).fetchall() == []
    creation = make_event("booking.created", at, booking_id="b-2", total_amount="200.00", currency="EUR")
    asyncio.run(append(database_url, [creation]))
    asyncio.run(drain(settings, batch_size=10, projections=(projections.BOOKINGS,)))
    assert db.execute(held).fetchall() == []
    assert db.execute(
        "select booking_id, created_total, current_total, modifications, amount_paid "
        "from pulse_bookings.bookings order by 1"
    ).fetchall() == [("b-1", 100, 100, 0, 40), ("b-2", 200, 300, 1, 25)]


def test_revision_0024_adds_payments_up_and_undone_gives_each_replay_its_payments(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    """From 0024 bookings add payments up and booking_events keeps only those waiting for their booking.

    Undone, each booking's sums are back in booking_events, a row per currency, as a history replay
    before 0024 reads them; redone, they are sums again, a payment of 0 in the booking's currency
    still told apart from none, and later events apply to them.
    """
    settings = Settings(database_url=database_url)
    at = datetime(2026, 5, 4, 10, tzinfo=UTC)
    asyncio.run(
        append(
            database_url,
            [
                make_event("booking.created", at, booking_id="b-1", total_amount="100.00", currency="EUR"),
                make_event("payment.captured", at, booking_id="b-1", amount="0.00", currency="EUR"),
                make_event("payment.captured", at, booking_id="b-1", amount="30.00", currency="USD"),
                make_event("booking.created", at, booking_id="b-2", total_amount="80.00", currency="EUR"),
                make_event("payment.captured", at, booking_id="b-3", amount="25.00", currency="EUR"),
            ],
        )
    )
    asyncio.run(drain(settings, batch_size=10, projections=(projections.BOOKINGS,)))
    state = "select booking_id, amount_paid, other_payments from pulse_bookings.bookings order by 1"
    payments = (
        "select booking_id, amount, currency from pulse_bookings.booking_events "
        "where type = 'payment.captured' order by 1, 3"
    )
    added_up = [("b-1", Decimal("0.00"), {"USD": 30.00}), ("b-2", None, None)]
    assert db.execute(state).fetchall() == added_up
    assert db.execute(payments).fetchall() == [("b-3", Decimal("25.00"), "EUR")]

    command.downgrade(alembic_config(database_url), "0023")
    assert db.execute(state).fetchall() == [("b-1", Decimal("0.00"), {"USD": 30.00}), ("b-2", 0, None)]
    assert db.execute(payments).fetchall() == [
        ("b-1", Decimal("0.00"), "EUR"),
        ("b-1", Decimal("30.00"), "USD"),
        ("b-3", Decimal("25.00"), "EUR"),
    ]

    command.upgrade(alembic_config(database_url), "head")
    assert db.execute(state).fetchall() == added_up
    assert db.execute(payments).fetchall() == [("b-3", Decimal("25.00"), "EUR")]
    later = at.replace(hour=11)
    asyncio.run(
        append(
            database_url,
            [
                make_event("booking.modified", later, booking_id="b-1", total_amount="120.00", currency="USD"),
                make_event("booking.created", at, booking_id="b-3", total_amount="50.00", currency="EUR"),
            ],
        )
    )
    asyncio.run(drain(settings, batch_size=10, projections=(projections.BOOKINGS,)))
    assert db.execute(
        "select booking_id, currency, amount_paid, other_payments from analytics.bookings order by 1"
    ).fetchall() == [
        ("b-1", "USD", Decimal("30.00"), {"EUR": 0}),
        ("b-2", "EUR", 0, None),
        ("b-3", "EUR", Decimal("25.00"), None),
    ]


def test_head_is_the_schema_the_files_of_sql_describe(db: psycopg.Connection[Any], empty_database: str) -> None:
    """sql/ is the one source of schema truth: a change there without a revision that applies it fails here."""
    with psycopg.connect(empty_database, autocommit=True) as fresh:
        create_current_schema(fresh)
        built = catalog(fresh)
    migrated = catalog(db)
    assert [row for row in built if row not in migrated] == [], "in sql/ but not in the migrated database"
    assert [row for row in migrated if row not in built] == [], "in the migrated database but not in sql/"


def throwaway_revision(versions: Path, sql_dir: Path, down_revision: str) -> Projection:
    """A later revision, as a contributor would write it, that adds a projection and a view."""
    sql_dir.mkdir()
    (sql_dir / "tables.sql").write_text("create table daily (day date primary key, events bigint not null);\n")
    (sql_dir / "batch.sql").write_text(
        "-- name: count_events\n"
        "insert into daily as d (day, events)\n"
        "select e.occurred_at::date, count(*) from pulse.events e\n"
        "where (e.xact_id, e.seq) > (%(start_xact_id)s::text::xid8, %(start_seq)s)\n"
        "  and (e.xact_id, e.seq) <= (%(end_xact_id)s::text::xid8, %(end_seq)s)\n"
        "  and e.type = any(%(event_types)s::text[])\n"
        "group by 1 on conflict (day) do update set events = d.events + excluded.events;\n"
    )
    (versions / "9001_throwaway.py").write_text(
        f'''"""A throwaway projection.

Revision ID: 9001
Revises: {down_revision}
"""

from migrations.apply import apply_frozen

revision = "9001"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
'''
    )
    (versions / "9001_throwaway.sql").write_text(
        "create schema pulse_throwaway;\n"
        "set local search_path to pulse_throwaway, public;\n"
        + (sql_dir / "tables.sql").read_text()
        + "set local search_path to default;\n"
        "create view analytics.throwaway_daily as select * from pulse_throwaway.daily;\n"
        # As python -m migrations.new ends every revision: the roles' rights over what it adds.
         + read("roles.sql")
    )
    (versions / "9001_throwaway.down.sql").write_text(
        "drop view analytics.throwaway_daily;\ndrop schema pulse_throwaway cascade;\n"
    )
    return Projection(name="throwaway", version=1, event_types=("search.performed",), sql_dir=sql_dir)


def test_a_later_revision_adding_a_projection_changes_no_earlier_one(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = alembic_config(empty_database)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    versions = tmp_path / "versions"
    versions.mkdir()
    throwaway = throwaway_revision(versions, tmp_path / "throwaway", head)
    # Declared as any new projection is: an earlier revision that read the registry would create it too early.
    monkeypatch.setattr(projections, "ALL_PROJECTIONS", (*projections.ALL_PROJECTIONS, throwaway))
    config.set_main_option("version_locations", os.pathsep.join((str(files("migrations") / "versions"), str(versions))))

    command.upgrade(config, "9001")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        first = catalog(conn)
        assert any(kind == "view" and text.startswith("analytics.throwaway_daily ") for kind, text in first)
        command.downgrade(config, "base")
        assert our_schemas(conn) == set()
        command.upgrade(config, "9001")
        assert catalog(conn) == first

        # Declared and migrated, it runs like any projection.
        asyncio.run(append(empty_database, [make_event("search.performed", datetime(2026, 3, 29, 10, tzinfo=UTC))]))
        settings = Settings(database_url=empty_database, use_local_cluster=False)
        asyncio.run(drain(settings, batch_size=10, projections=(throwaway,)))
        assert conn.execute("select * from analytics.throwaway_daily").fetchall() == [(date(2026, 3, 29), 1)]


# Tables analysts may read and change; everything else in analytics is a view.
ANALYTICS_TABLES = {
    "settings",
    "fx_rates",
    "customer_segment_rules",
    # Alerts and data quality: analysts acknowledge alerts and tune rules and checks with SQL.
    "alerts",
    "alert_rules",
    "dq_checks",
    "dq_results",
    # Forecasts and predicted customer value: written by each refresh, read by analysts.
    "forecast_runs",
    "forecast_series",
    "demand_forecast",
    "customer_prediction",
}


def test_analytics_holds_only_documented_views_and_settings(db: psycopg.Connection[Any]) -> None:
    relations = db.execute(
        "select c.relname, c.relkind, obj_description(c.oid) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'analytics' and c.relkind not in ('i', 'S')"
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
