"""pulse_bookings.bookings gets an index on created_at: legacy report SQL on analytics.bookings picks its
days by created_at.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
