"""The journal keeps request headers (secrets redacted) and the text of any error the answer carried.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("headers", sa.Text))
        batch.add_column(sa.Column("error", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("error")
        batch.drop_column("headers")
