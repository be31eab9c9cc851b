"""Out of office: who is away when, and who decides for them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("delegate_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_absences_user_id_users",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delegate_id"], ["users.id"],
                                name="fk_absences_delegate_id_users"),
        sa.ForeignKeyConstraint(["definition_id"], ["workflow_definitions.id"],
                                name="fk_absences_definition_id_workflow_definitions"),
        sa.PrimaryKeyConstraint("id", name="pk_absences"),
    )  # fmt: skip
    op.create_index("ix_absences_user_id", "absences", ["user_id"])
    op.create_index("ix_absences_ends_at", "absences", ["ends_at"])


def downgrade() -> None:
    op.drop_table("absences")
