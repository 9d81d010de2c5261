"""The feed: the change log, UTC offsets kept from imported captures, the purge of old disconnected clients,
the rows a reset may keep.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("client_id", sa.BigInteger),
        sa.Column("payload", sa.Text, nullable=False),
    )
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("connected_since_offset", sa.String(6)))
        batch.add_column(sa.Column("fixture_row", sa.Integer))
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("connected_since_offset", sa.String(6)))
    op.create_index("ix_clients_disconnected_at", "clients", ["connected", "disconnected_at"])


def downgrade() -> None:
    op.drop_index("ix_clients_disconnected_at", "clients")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("connected_since_offset")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("fixture_row")
        batch.drop_column("connected_since_offset")
    op.drop_table("changes")
