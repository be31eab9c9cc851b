"""First submission time and the indexes the dashboards and request pages read by

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_submitted_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE change_requests SET first_submitted_at = ("
        " SELECT min(e.at) FROM request_events e"
        " WHERE e.request_id = change_requests.id AND e.action = 'submitted')"
    )
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_requests_first_submitted_at"), ["first_submitted_at"]
        )
        batch_op.create_index(batch_op.f("ix_change_requests_decided_at"), ["decided_at"])
    with op.batch_alter_table("request_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_steps_completed_at"), ["completed_at"])
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_decided_at"), ["decided_at"])
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_customer_group"), ["customer_group"])
    with op.batch_alter_table("proposed_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposed_changes_request_id"), ["request_id"])


def downgrade() -> None:
    with op.batch_alter_table("proposed_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposed_changes_request_id"))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_customer_group"))
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_decided_at"))
    with op.batch_alter_table("request_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_steps_completed_at"))
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_requests_decided_at"))
        batch_op.drop_index(batch_op.f("ix_change_requests_first_submitted_at"))
        batch_op.drop_column("first_submitted_at")
