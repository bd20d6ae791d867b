"""Foundation: the event log, quarantine, checkpoints and the hourly bookings rollup.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from migrations.apply import apply_files, apply_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_files(
        [
            "schemas/extensions.sql",
            "schemas/pulse.sql",
            "schemas/analytics.sql",
            "tables/events.sql",
            "tables/event_ids.sql",
            "tables/quarantine.sql",
            "tables/projection_checkpoints.sql",
            "history/0001/bookings_hourly_rollup.sql",
            "functions/refuse_event_changes.sql",
            "triggers/events_append_only.sql",
            "history/0001/analytics.bookings_hourly.sql",
        ]
    )


def downgrade() -> None:
    # Extensions stay: they are database-wide and may serve others.
    apply_sql("drop schema analytics cascade; drop schema pulse cascade;")
