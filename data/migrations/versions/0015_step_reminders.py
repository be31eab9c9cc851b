"""Reminders: when a running step's deciders were reminded, and told it is overdue

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_steps") as table:
        table.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))
        table.add_column(sa.Column("overdue_told_at", sa.DateTime(), nullable=True))
    # steps escalated before this revision told their deciders already
    op.execute("UPDATE request_steps SET overdue_told_at = escalated_at "
               "WHERE escalated_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("request_steps") as table:
        table.drop_column("overdue_told_at")
        table.drop_column("reminded_at")
