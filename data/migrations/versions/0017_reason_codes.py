"""Reason codes for Reject and Request change, kept on the decision's history line

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "reason_codes",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_reason_codes"),
    )
    with op.batch_alter_table("request_events") as table:
        table.add_column(sa.Column("reason", sa.String(length=20), nullable=True))
    op.create_index("ix_request_events_action_at", "request_events", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_request_events_action_at", "request_events")
    with op.batch_alter_table("request_events") as table:
        table.drop_column("reason")
    op.drop_table("reason_codes")
