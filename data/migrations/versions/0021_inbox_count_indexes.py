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


def downgrade() -> None:
    op.drop_index("ix_assignments_user_state_step", table_name="assignments")
