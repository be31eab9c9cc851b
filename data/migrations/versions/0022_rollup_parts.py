"""Rollup counts kept in parts: a transaction adds to a part of its own, so concurrent
decisions do not queue on the same rows; old parts are folded into part 0

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

KEY = ["dim", "level", "slot", "metric", "key", "bucket"]


def _table(with_part: bool) -> None:
    op.create_table(
        "activity_rollups",
        sa.Column("dim", sa.String(110), nullable=False),
        sa.Column("level", sa.String(1), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("metric", sa.String(8), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        *([sa.Column("part", sa.SmallInteger, nullable=False, server_default=sa.text("0"))]
          if with_part else []),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(*KEY, *(["part"] if with_part else []),
                                name=op.f("pk_activity_rollups")),
        sqlite_with_rowid=False,
    )  # fmt: skip


def _moved(with_part: bool) -> None:
    """The table made anew with (or without) parts, holding the same counts (a WITHOUT
    ROWID table's key cannot be altered on SQLite)."""
    columns = ", ".join(KEY)
    op.execute(f"CREATE TABLE activity_rollups_kept AS SELECT {columns}, sum(n) AS n "
               f"FROM activity_rollups GROUP BY {columns}")  # fmt: skip
    op.drop_table("activity_rollups")
    _table(with_part)
    op.execute(f"INSERT INTO activity_rollups ({columns}, n) "
               f"SELECT {columns}, n FROM activity_rollups_kept")  # fmt: skip
    op.drop_table("activity_rollups_kept")


def upgrade() -> None:
    _moved(with_part=True)
    op.create_index("ix_activity_rollups_parts", "activity_rollups", ["level", "slot"],
                    sqlite_where=sa.text("part <> 0"), postgresql_where=sa.text("part <> 0"))


def downgrade() -> None:
    op.drop_index("ix_activity_rollups_parts", table_name="activity_rollups")
    _moved(with_part=False)
