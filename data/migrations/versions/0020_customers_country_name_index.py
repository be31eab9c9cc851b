"""The customers of one country in name order: the grid filtered on a country and sorted
by name skips rows in the index alone (it replaces the index on the country)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_country_name", "customers", ["country", "name", "account"])
    op.drop_index("ix_customers_country", table_name="customers")


def downgrade() -> None:
    op.create_index("ix_customers_country", "customers", ["country"])
    op.drop_index("ix_customers_country_name", table_name="customers")
