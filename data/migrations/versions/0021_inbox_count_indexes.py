"""An approver's assignments in one state with their steps, in the steps' order: the
inbox's overdue and decided counts read this index alone and look up steps in turn

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assignments_user_state_step", "assignments",
                    ["user_id", "state", "request_step_id"])  # fmt: skip
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
    ).scalar():
        # SQLite weighs an index it has no statistics for as if it picked a few rows, so
        # it would read the waiting tab through this one and sort it: measure it now
        op.execute("ANALYZE assignments")


def downgrade() -> None:
    op.drop_index("ix_assignments_user_state_step", table_name="assignments")
