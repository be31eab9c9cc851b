"""Email: users' addresses and preferences, the email outbox, one-click link parameters

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("parameters") as table:
        table.add_column(sa.Column("link_hours", sa.Integer(), server_default="72",
                                   nullable=False))  # fmt: skip
        table.add_column(sa.Column("link_requires_sign_in", sa.Boolean(),
                                   server_default=sa.text("false"), nullable=False))  # fmt: skip
    op.create_table(
        "email_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_email_preferences_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "kind", name="pk_email_preferences"),
    )  # fmt: skip
    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("busy_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_email_messages_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["change_requests.id"],
                                name="fk_email_messages_request_id_change_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_email_messages"),
    )  # fmt: skip
    op.create_index("ix_email_messages_user_id", "email_messages", ["user_id"])
    op.create_index("ix_email_messages_due", "email_messages", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("email_messages")
    op.drop_table("email_preferences")
    with op.batch_alter_table("parameters") as table:
        table.drop_column("link_requires_sign_in")
        table.drop_column("link_hours")
    with op.batch_alter_table("users") as table:
        table.drop_column("email")
