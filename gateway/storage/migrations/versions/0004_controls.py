"""Emulator controls: fault rules, the request journal and rate-limit counters.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RowKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # The change counter every worker reads per request; created here so that bumping it is always an UPDATE
    # (two first bumps at once on PostgreSQL could otherwise both try to INSERT it).
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.execute(counters.delete().where(counters.c.name == "controls_version"))
    op.bulk_insert(counters, [{"name": "controls_version", "value": 0}])
    op.create_table(
        "fault_rules",
        sa.Column("id", RowKey, primary_key=True, autoincrement=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("times", sa.Integer),
        sa.Column("matched", sa.BigInteger, nullable=False),
        sa.Column("fired", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "journal",
        sa.Column("seq", RowKey, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("face", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("action", sa.String(128)),
        sa.Column("account", sa.String(64)),
        sa.Column("params", sa.Text),
        sa.Column("status", sa.Integer),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("fault", sa.String(16)),
    )
    op.create_table(
        "rate_counters",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("period_start", sa.BigInteger, nullable=False),
        sa.Column("hits", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("rate_counters", "journal", "fault_rules"):
        op.drop_table(table)
    op.execute("DELETE FROM counters WHERE name = 'controls_version'")
