"""Alembic environment: plain SQL migrations over a psycopg 3 connection."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from core.settings import Settings


def database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def role_prefix() -> str:
    """The roles' prefix (PULSE_ROLE_PREFIX), which the revisions read as the setting pulse.role_prefix."""
    prefix = context.config.attributes.get("role_prefix")
    return str(prefix) if prefix else Settings.from_env().role_prefix


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("select set_config('pulse.role_prefix', :prefix, false)"), {"prefix": role_prefix()})
        connection.commit()
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Booking Pulse migrations run online only: they read SQL files and execute them.")
run_migrations_online()
