"""Requests' comment threads, attachments and justifications; fields that need one

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("field_settings") as table:
        table.add_column(sa.Column("needs_justification", sa.Boolean(),
                                   server_default=sa.text("false"), nullable=False))  # fmt: skip
    with op.batch_alter_table("change_requests") as table:
        table.add_column(sa.Column("justification", sa.Text(), nullable=True))
    op.create_table(
        "request_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["change_requests.id"],
                                name="fk_request_comments_request_id_change_requests",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_request_comments_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_request_comments"),
    )  # fmt: skip
    op.create_index("ix_request_comments_request_id", "request_comments", ["request_id"])
    op.create_table(
        "request_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["change_requests.id"],
                                name="fk_request_attachments_request_id_change_requests",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name="fk_request_attachments_uploaded_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_request_attachments"),
    )  # fmt: skip
    op.create_index("ix_request_attachments_request_id", "request_attachments", ["request_id"])


def downgrade() -> None:
    op.drop_table("request_attachments")
    op.drop_table("request_comments")
    with op.batch_alter_table("change_requests") as table:
        table.drop_column("justification")
    with op.batch_alter_table("field_settings") as table:
        table.drop_column("needs_justification")
