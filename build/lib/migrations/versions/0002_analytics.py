"""Analytics: three projections in their own schemas, the analytics views, FX rates and settings.

The hourly rollup of 0001 is replaced by the bookings projection; projections
start from the beginning of the log, so every stored event is counted again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from migrations.apply import apply_frozen

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
