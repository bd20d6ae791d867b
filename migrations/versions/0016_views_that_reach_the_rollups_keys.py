"""Analytics views whose rows the planner can find through the rollups' keys.

bookings_hourly, bookings_daily and destinations_daily are written flat, without CTEs: PostgreSQL merges
them into the analyst's query, whose ORDER BY and LIMIT then reach the rollups' primary keys.
top_destinations and revenue_by_booking_type join their periods day by day instead of by a range of days.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
