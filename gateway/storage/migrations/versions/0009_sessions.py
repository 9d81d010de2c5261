"""Support sessions and teams (issue 17): support teams, custom attribute definitions, sessions, their
chat, and session keys.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RowKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "support_teams",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("code_name", sa.String(128), nullable=False, unique=True),
        sa.Column("comments", sa.Text, nullable=False),
        sa.Column("members", sa.Text, nullable=False),
        sa.Column("issues", sa.Text, nullable=False),
    )
    op.create_table(
        "custom_attributes",
        sa.Column("code_name", sa.String(128), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
    )
    op.create_table(
        "support_sessions",
        sa.Column("lsid", sa.String(64), primary_key=True),
        sa.Column("queue", sa.String(160), nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("customer_id", sa.BigInteger),
        sa.Column("customer_name", sa.Text, nullable=False),
        sa.Column("rep_ids", sa.Text, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("ended_at", sa.BigInteger),
        sa.Column("end_reason", sa.Text),
        sa.Column("short_key", sa.String(16)),
    )
    op.create_index("ix_support_sessions_ended", "support_sessions", ["ended_at"])
    op.create_table(
        "session_chat",
        sa.Column("seq", RowKey, primary_key=True, autoincrement=True),
        sa.Column(
            "lsid", sa.String(64), sa.ForeignKey("support_sessions.lsid", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("sender_type", sa.String(16), nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_session_chat_lsid", "session_chat", ["lsid", "seq"])
    op.create_table(
        "session_keys",
        sa.Column("short_key", sa.String(16), primary_key=True),
        sa.Column("queue", sa.String(160), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("redeemed_lsid", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("session_keys")
    op.drop_index("ix_session_chat_lsid", "session_chat")
    op.drop_table("session_chat")
    op.drop_index("ix_support_sessions_ended", "support_sessions")
    op.drop_table("support_sessions")
    op.drop_table("custom_attributes")
    op.drop_table("support_teams")
