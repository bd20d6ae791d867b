"""Migrations: `alembic upgrade head` on a database, from a checkout or an installed copy."""

from importlib.resources import files

import psycopg
from alembic import command
from alembic.config import Config

from core.settings import Settings
from core.sql import query


def alembic_config(database_url: str, role_prefix: str = "pulse") -> Config:
    """alembic's configuration for the migrations package, wherever it is installed."""
    config = Config(attributes={"role_prefix": role_prefix})
    # Installed as a directory (never zipped), so the package's location is a path.
    config.set_main_option("script_location", str(files("migrations")))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def migrate(settings: Settings) -> str:
    """Upgrades the database to the newest revision and stores the business settings.

    Returns a line on the storage in use. A time zone the database refuses
    raises psycopg.errors.RaiseException with the reason.
    """
    command.upgrade(alembic_config(settings.database_url, settings.role_prefix), "head")
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            query("store_settings"),
            {"timezone": settings.timezone, "reporting_currency": settings.reporting_currency},
        )
        row = conn.execute(query("timescaledb_version")).fetchone()
    if row:
        return f"migrated; pulse.events is a TimescaleDB {row[0]} hypertable"
    return "migrated; TimescaleDB is not available, so pulse.events is a plain PostgreSQL table"
