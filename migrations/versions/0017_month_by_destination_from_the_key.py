"""pulse_bookings.destinations_daily's primary key includes its figures: a month by destination is an
index-only scan in key order, with no sort and no heap.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
