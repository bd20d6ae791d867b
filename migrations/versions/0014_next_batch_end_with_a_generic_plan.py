"""pulse.next_batch_end in PL/pgSQL with a generic plan kept for the session: planning its merge over every
chunk was most of its 3 ms a call at 67 chunks; the cached plan runs in under 1 ms.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""

from migrations.apply import apply_frozen

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
