"""Index lower(name) for the customer grid's quick search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_name_lower", "customers", [sa.text("lower(name)")])


def downgrade() -> None:
    op.drop_index("ix_customers_name_lower", table_name="customers")
