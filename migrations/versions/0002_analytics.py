"""Analytics: three projections in their own schemas, the analytics views, FX rates and settings.

The hourly rollup of 0001 is replaced by the bookings projection; projections
start from the beginning of the log, so every stored event is counted again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from app.sql import analytics_objects
from migrations.apply import apply_files, apply_sql, apply_statement
from projections import ALL_PROJECTIONS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(
        "drop view analytics.bookings_hourly; drop table pulse.bookings_hourly_rollup;"
        "delete from pulse.projection_checkpoints where projection = 'bookings_hourly';"
    )
    apply_files(
        [
            "schemas/sketches.sql",
            "tables/booking_ids.sql",
            "tables/projection_checkpoints_versions.sql",
            "tables/settings.sql",
            "tables/fx_rates.sql",
            "tables/customer_segment_rules.sql",
            "tables/retention_runs.sql",
            "functions/pulse.recompute_bookings_hourly.sql",
        ]
    )
    for projection in ALL_PROJECTIONS:
        apply_statement(projection.create_tables(projection.schema))
    apply_sql(analytics_objects())


def downgrade() -> None:
    schemas = ", ".join(f"{p.schema}, {p.rebuild_schema}" for p in ALL_PROJECTIONS)
    names = ", ".join(f"'{p.name}', '{p.name}.rebuild'" for p in ALL_PROJECTIONS)
    # Extensions stay: they are database-wide and may serve others.
    apply_sql(
        f"drop schema if exists {schemas} cascade;"
        "drop function analytics.bookings_series, analytics.fx_rate;"
        "drop table analytics.settings, analytics.fx_rates, analytics.customer_segment_rules,"
        " pulse.calendar, pulse.booking_ids, pulse.retention_runs;"
        "drop function pulse.apply_settings, pulse.recompute_bookings_hourly;"
        "alter table pulse.projection_checkpoints drop column version, drop column generation,"
        " drop column last_error_event_id;"
        f"delete from pulse.projection_checkpoints where projection in ({names});"
    )
    apply_files(["history/0001/bookings_hourly_rollup.sql", "history/0001/analytics.bookings_hourly.sql"])
