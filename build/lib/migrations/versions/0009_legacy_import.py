"""Legacy import: row states and watermarks of pulse import, and the legacy column names of analytics.bookings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from migrations.apply import apply_frozen

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
