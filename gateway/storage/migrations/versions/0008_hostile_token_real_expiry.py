"""Tokens keep their real expiry (system time, whatever the emulator's clock says): setting the clock back
cannot revive a token, and the admin surface checks its tokens against real time only. Tokens issued before
this revision have none and follow the emulator's clock alone, as they did.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tokens", sa.Column("real_expires_at", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("real_expires_at")
