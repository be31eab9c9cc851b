"""Indexes for an approver's open assignments, the backlog level and the grid's country filter

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the inbox, its tab counts, the next request and the navbar badge all ask for
    # one user's assignments in one state: with a long history, the user alone is
    # hundreds of thousands of rows
    op.create_index("ix_assignments_user_state", "assignments", ["user_id", "state"])
    op.create_index("ix_customers_country", "customers", ["country"])
    # the backlog's current level: open requests that were ever submitted
    op.create_index(
        "ix_change_requests_state_first", "change_requests", ["state", "first_submitted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_change_requests_state_first", table_name="change_requests")
    op.drop_index("ix_customers_country", table_name="customers")
    op.drop_index("ix_assignments_user_state", table_name="assignments")
