"""Rollup rows for each filter the throughput dashboard offers (field, step, approver,
customer group): the table gains a dimension in its key and is counted again by the app

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _table(with_dim: bool) -> None:
    key = ["dim"] if with_dim else []
    op.create_table(
        "activity_rollups",
        *([sa.Column("dim", sa.String(110), nullable=False)] if with_dim else []),
        sa.Column("level", sa.String(1), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("metric", sa.String(8), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(*key, "level", "slot", "metric", "key", "bucket",
                                name=op.f("pk_activity_rollups")),
        sqlite_with_rowid=False,
    )  # fmt: skip


def upgrade() -> None:
    # the rows are counted again from the requests after this revision (data.db)
    op.drop_table("activity_rollups")
    _table(with_dim=True)


def downgrade() -> None:
    # keep the counts of every request; those per filter have nowhere to go
    op.execute("CREATE TABLE activity_rollups_kept AS SELECT level, slot, metric, key, bucket, n "
               "FROM activity_rollups WHERE dim = ''")  # fmt: skip
    op.drop_table("activity_rollups")
    _table(with_dim=False)
    op.execute("INSERT INTO activity_rollups (level, slot, metric, key, bucket, n) "
               "SELECT level, slot, metric, key, bucket, n FROM activity_rollups_kept")  # fmt: skip
    op.drop_table("activity_rollups_kept")
