"""Hourly and daily counts behind the dashboards, filled from the history already there

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_rollups",
        sa.Column("level", sa.String(1), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("metric", sa.String(8), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "level", "slot", "metric", "key", "bucket", name=op.f("pk_activity_rollups")
        ),
        sqlite_with_rowid=False,
    )
    from data.rollups import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("activity_rollups")
