"""Foundation: the event log, quarantine, checkpoints and the hourly bookings rollup.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from migrations.apply import apply_frozen

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
