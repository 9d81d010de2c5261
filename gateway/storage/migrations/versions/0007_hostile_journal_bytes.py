"""The journal's byte budget: each entry carries the journal's running size through it, so the entries past
GATEWAY_JOURNAL_MAX_BYTES are one indexed range to delete, oldest first. Entries written before this revision
have none and leave with the entry count (GATEWAY_JOURNAL_MAX_ENTRIES).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("journal", sa.Column("bytes_upto", sa.BigInteger()))
    op.create_index("ix_journal_bytes_upto", "journal", ["bytes_upto"])


def downgrade() -> None:
    op.drop_index("ix_journal_bytes_upto", "journal")
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("bytes_upto")
