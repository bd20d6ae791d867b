"""The bookings projection adds payments up in bookings instead of keeping each one in
booking_events and replaying it with the booking's history; only payments that come before their
booking.created wait there. amount_paid is NULL when no payment is in the booking's currency, so
that a currency change moves exact sums between amount_paid and other_payments;
analytics.bookings still shows 0.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
