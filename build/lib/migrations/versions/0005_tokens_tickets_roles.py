"""API tokens, dashboard tickets, and the application roles (ingest, projector, analyst, dashboard, owner).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:46:25.251867
"""

from migrations.apply import apply_frozen

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
