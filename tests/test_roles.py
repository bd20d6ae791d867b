"""The database roles: each does its job, and is refused what is not its job."""

import asyncio
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.metrics import METRIC_TOPICS, Filters, read_topics
from core.settings import Settings
from tests.support.events import booking
from tests.support.pipeline import append, drain

DOCS = Path(__file__).resolve().parent.parent / "docs"
DENIED = psycopg.errors.InsufficientPrivilege


def documented_queries() -> list[str]:
    """Every SQL example of docs/analytics.md, statement by statement."""
    blocks = re.findall(r"```sql\n(.*?)```", (DOCS / "analytics.md").read_text(), re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())]


def as_role(database_url: str, role: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(database_url, autocommit=True)
    conn.execute(f"set role {role}")  # a fixed name from the test
    return conn


def refused(conn: psycopg.Connection[Any], statement: str, params: Any = None) -> bool:
    try:
        conn.execute(statement, params)
    except DENIED:
        return True
    return False


@pytest.fixture
def data(settings: Settings) -> None:
    asyncio.run(append(settings.database_url, [booking("Lisbon", currency="USD"), booking("Tokyo", currency="USD")]))
    asyncio.run(drain(settings, batch_size=10))


def test_the_analyst_runs_every_documented_query_and_never_sees_raw_events(database_url: str, data: None) -> None:
    queries = documented_queries()
    assert len(queries) >= 15
    with as_role(database_url, "pulse_analyst") as analyst:
        for statement in queries:
            analyst.execute(statement.encode())
        assert refused(analyst, "select data from pulse.events")
        assert refused(analyst, "select * from pulse_bookings.bookings")
        assert refused(analyst, "update analytics.settings set timezone = 'Asia/Tokyo'")
        assert refused(analyst, "select * from pulse.append_events(array[]::uuid[], '{}', '{}', '{}')")


def test_ingest_may_only_append_and_quarantine(database_url: str) -> None:
    event = booking("Lisbon")
    with as_role(database_url, "pulse_ingest") as ingest:
        stored = ingest.execute(
            "select * from pulse.append_events(%s::uuid[], %s::text[], %s::timestamptz[], %s::jsonb[])",
            ([event["event_id"]], [event["type"]], [event["occurred_at"]], [Jsonb(event["data"])]),
        ).fetchall()
        assert len(stored) == 1 and stored[0][1] is not None
        ingest.execute("insert into pulse.quarantine (content_type, raw, reasons) values ('x', 'y', '[]')")
        assert refused(ingest, "select * from pulse.events")
        assert refused(ingest, "select * from pulse.quarantine")
        assert refused(
            ingest,
            "insert into pulse.events (event_id, type, occurred_at, data) values (%s, 'search.performed', now(), '{}')",
            (uuid.uuid4(),),
        )
        assert refused(ingest, "select * from analytics.kpis_today")
        assert refused(ingest, "update pulse.projection_checkpoints set batch_no = 0")
        assert refused(ingest, "select * from pulse.api_tokens")


def test_the_dashboard_reads_what_the_stream_shows_and_nothing_raw(database_url: str, data: None) -> None:
    async def read() -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await conn.execute("set role pulse_dashboard")
            await conn.commit()
            _, messages = await read_topics(conn, METRIC_TOPICS, Filters())
            assert messages["kpis"].data["metrics"]["bookings"]["value"] == 2

    asyncio.run(read())
    with as_role(database_url, "pulse_dashboard") as dashboard:
        assert refused(dashboard, "select data from pulse.events")
        assert refused(dashboard, "select * from pulse.append_events(array[]::uuid[], '{}', '{}', '{}')")
        assert refused(dashboard, "insert into pulse.quarantine (content_type, raw, reasons) values ('x', 'y', '[]')")
        assert refused(dashboard, "delete from pulse_bookings.hourly")


def test_the_projector_projects_and_writes_no_events(settings: Settings, database_url: str) -> None:
    asyncio.run(append(settings.database_url, [booking("Lisbon", occurred_at=datetime(2026, 3, 29, 10, tzinfo=UTC))]))
    # drain() runs the workers as pulse_projector.
    asyncio.run(drain(settings, batch_size=10))
    with as_role(database_url, "pulse_projector") as projector:
        assert projector.execute("select sum(bookings) from pulse_bookings.hourly").fetchone() == (1,)
        assert refused(projector, "select * from pulse.append_events(array[]::uuid[], '{}', '{}', '{}')")
        assert refused(projector, "select * from pulse.api_tokens")
        assert refused(projector, "delete from pulse.events")


def test_application_roles_cannot_run_away_or_idle_in_a_transaction(db: psycopg.Connection[Any]) -> None:
    configs = dict(
        db.execute(
            "select rolname, rolconfig from pg_roles "
            "where rolname in ('pulse_ingest', 'pulse_projector', 'pulse_analyst', 'pulse_dashboard')"
        ).fetchall()
    )
    assert len(configs) == 4
    for role, config in configs.items():
        assert any(c.startswith("statement_timeout=") for c in config), role
        assert "idle_in_transaction_session_timeout=60s" in config, role
    owner_is_projector = db.execute("select pg_has_role('pulse_owner', 'pulse_projector', 'member')").fetchone()
    assert owner_is_projector == (True,)


def test_objects_the_projector_creates_never_run_inside_functions_with_more_rights(database_url: str) -> None:
    """The projector may create objects in schema pulse; security definer functions must not pick them up."""
    with as_role(database_url, "pulse_projector") as projector:
        projector.execute(
            "create function pulse.cardinality(uuid[]) returns integer language plpgsql as "
            "$$ begin raise exception 'hijacked'; end $$"
        )
        projector.execute(
            "create function pulse.jsonb_typeof(jsonb) returns text language plpgsql as "
            "$$ begin raise exception 'hijacked'; end $$"
        )
    test_ingest_may_only_append_and_quarantine(database_url)
    with as_role(database_url, "pulse_ingest") as ingest:
        assert refused(ingest, "select pulse.ticket_key_value()"), "only the dashboard role may read the ticket key"
        assert refused(ingest, "select pulse.token_scopes(gen_random_uuid(), '')")
