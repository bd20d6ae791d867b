"""throughput and any time zone

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 11:44:01.881410
"""

from migrations.apply import apply_frozen

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
