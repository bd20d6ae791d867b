"""Remember recent projection batches: the log position each ends at, for the stream.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:06:47.216492
"""

from migrations.apply import apply_frozen

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
