"""Alembic environment: plain SQL migrations over a psycopg 3 connection."""

from alembic import context
from sqlalchemy import create_engine, pool

from core.settings import Settings


def database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Booking Pulse migrations run online only: they read SQL files and execute them.")
run_migrations_online()
