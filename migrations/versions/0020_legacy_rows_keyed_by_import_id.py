"""pulse.legacy_rows is keyed by pulse.legacy_imports.id instead of the source and table's names: the
key's index was two thirds of the time of a first import's row-state COPY.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
