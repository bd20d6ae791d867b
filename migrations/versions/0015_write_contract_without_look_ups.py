"""The write contract inserts event and booking ids without looking them up first when nothing conflicts:
the look-ups of "on conflict do nothing" were a fifth of its time. A unique violation falls back to the
careful path.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
