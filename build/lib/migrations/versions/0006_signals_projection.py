"""signals: per-minute figures for the alert detector

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:49:31.108259
"""

from migrations.apply import apply_frozen

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
