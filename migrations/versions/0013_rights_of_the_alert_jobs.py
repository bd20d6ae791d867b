"""Rights the server's alert jobs (as the projector) lacked: every session's activity for the oldest-transaction
check and gauge (pg_read_all_stats), and the bookings recompute for the reconciliation check; the freshness
check covers payments, and the reconciliation check's description says it recomputes the whole log.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from migrations.apply import apply_frozen

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
