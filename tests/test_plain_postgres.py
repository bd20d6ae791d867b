"""Without TimescaleDB the same stack runs on plain PostgreSQL."""

import asyncio
from typing import Any

import psycopg

from core.settings import Settings
from tests.support.databases import url_for
from tests.support.events import booking
from tests.support.pipeline import append, drain
from tests.support.views import recompute, rollup


def test_events_is_a_plain_table_and_the_projection_works(plain_postgresql: psycopg.Connection[Any]) -> None:
    info = plain_postgresql.info
    url = url_for(info.host, info.port, info.user, info.dbname)
    with psycopg.connect(url, autocommit=True) as db:
        assert db.execute("select count(*) from pg_extension where extname = 'timescaledb'").fetchone() == (0,)
        indexes = db.execute("select indexdef from pg_indexes where tablename = 'events'").fetchall()
        assert any("brin" in row[0] for row in indexes)
        asyncio.run(append(url, [booking("Lisbon"), booking("Tokyo", currency="JPY", amount="12000")]))
        asyncio.run(drain(Settings(database_url=url, use_local_cluster=False), batch_size=1))
        assert sorted(row[1] for row in rollup(db)) == ["Lisbon", "Tokyo"]
        assert rollup(db) == recompute(db)
