"""Customer groups: a list set up by an administrator, the customers' groups to pick from

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    groups = op.create_table(
        "customer_groups",
        sa.Column("code", sa.String(10), primary_key=True),
        sa.Column("description", sa.String(60), nullable=False, server_default=""),
    )
    # the groups customers are in already are the list to start from
    found = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT customer_group FROM customers "
            "WHERE customer_group IS NOT NULL AND customer_group <> ''"
        )
    )
    rows = [{"code": code, "description": ""} for (code,) in found]
    if rows:
        op.bulk_insert(groups, rows)


def downgrade() -> None:
    op.drop_table("customer_groups")
