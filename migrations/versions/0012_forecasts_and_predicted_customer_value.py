"""Forecasts and predicted customer value: their tables, demand_outlook, customer_lifetime's predicted columns.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from migrations.apply import apply_frozen

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_frozen(__file__, "upgrade")


def downgrade() -> None:
    apply_frozen(__file__, "downgrade")
