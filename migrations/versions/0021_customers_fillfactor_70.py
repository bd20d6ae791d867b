"""pulse_customers.customers leaves 30 % of each page free, for HOT updates: each batch of a backlog
updates most customers, and with full pages every update also wrote a new key into the primary key.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from migrations.apply import apply_frozen

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
