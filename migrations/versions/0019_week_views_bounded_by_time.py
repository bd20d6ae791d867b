"""analytics.top_destinations and revenue_by_booking_type bound the hours they read to the last 9 days, so
the rollup's key finds them whatever the planner makes of the days: joined by day alone, on two years of
hours for eight destinations, it read every hour.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
