"""alerts, alert rules, data-quality checks and webhook attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 09:49:33.298553
"""

from migrations.apply import apply_frozen

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
