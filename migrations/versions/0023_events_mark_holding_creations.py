"""pulse.events.holds_booking: the write contract marks each booking.created it stores (all of them
hold their booking_id), so the projections read it instead of looking each creation up in
pulse.booking_ids; events stored otherwise keep NULL and are looked up as before.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
