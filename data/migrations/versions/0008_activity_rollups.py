"""Hourly and daily counts behind the dashboards, filled from the history already there;
indexes for the pending requests' ages and an approver's inbox in order

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
    # the pending dashboard's oldest and median age walk the pending requests in order
    op.create_index(
        "ix_change_requests_state_submitted", "change_requests", ["state", "submitted_at"]
    )
    # an approver's inbox in order (waiting longest first; decided most recently first)
    op.drop_index("ix_assignments_user_state", table_name="assignments")
    op.create_index(
        "ix_assignments_user_state_created",
        "assignments",
        ["user_id", "state", "created_at", "via"],
    )
    op.create_index("ix_assignments_user_decided", "assignments", ["user_id", "decided_at"])
    # running steps carry their round's submission time: the pending dashboard ages
    # them from one index, without reading their requests
    op.add_column("request_steps", sa.Column("submitted_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE request_steps SET submitted_at = (SELECT r.submitted_at FROM change_requests r"
        " WHERE r.id = request_steps.request_id AND r.round = request_steps.round)"
    )
    op.create_index(
        "ix_request_steps_running", "request_steps", ["state", "name", "submitted_at", "due_at"]
    )
    # the rows already there are counted by data.db.upgrade_database once the migrations
    # are done (a migration carries its own SQL, never the app's code)


def downgrade() -> None:
    op.drop_index("ix_request_steps_running", table_name="request_steps")
    with op.batch_alter_table("request_steps") as batch:
        batch.drop_column("submitted_at")
    op.drop_index("ix_assignments_user_decided", table_name="assignments")
    op.drop_index("ix_assignments_user_state_created", table_name="assignments")
    op.create_index("ix_assignments_user_state", "assignments", ["user_id", "state"])
    op.drop_index("ix_change_requests_state_submitted", table_name="change_requests")
    op.drop_table("activity_rollups")
