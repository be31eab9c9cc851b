"""Everyone who shaped a request (segregation of duties); import batches' heartbeat and
closing message

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_authors",
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["change_requests.id"],
            name=op.f("fk_request_authors_request_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_request_authors_user_id_users")
        ),
        sa.PrimaryKeyConstraint("request_id", "user_id", name=op.f("pk_request_authors")),
    )
    # what is known of the requests already there: who created, proposed and submitted
    op.execute(
        "INSERT INTO request_authors (request_id, user_id)"
        " SELECT request_id, user_id FROM ("
        "  SELECT id AS request_id, created_by_id AS user_id FROM change_requests"
        "  UNION SELECT id, submitted_by_id FROM change_requests"
        "   WHERE submitted_by_id IS NOT NULL"
        "  UNION SELECT request_id, proposed_by_id FROM proposed_changes) AS authors"
    )
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("message")
        batch.drop_column("heartbeat_at")
    op.drop_table("request_authors")
