"""The write contract: pulse.append_events, the one way every writer appends events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from migrations.apply import apply_frozen

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
