"""The registry, API accounts and tokens.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RowKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "appliances",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("hostname", sa.Text, nullable=False),
        sa.Column("public_hostname", sa.Text, nullable=False),
        sa.Column("cluster_role", sa.String(16), nullable=False),
        sa.Column("failover_role", sa.String(16), nullable=False),
        sa.Column("accepting_connections", sa.Boolean, nullable=False),
        sa.Column("timezone_offset", sa.Integer, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("healthy", sa.Boolean, nullable=False),
        sa.Column("error_message", sa.Text),
        sa.Column("enabled_shared_ips", sa.Text, nullable=False),
        sa.Column("last_data_sync_time", sa.BigInteger),
        sa.Column("last_data_sync_status", sa.Text),
        sa.Column("pinned_clients", sa.Integer, nullable=False),
    )
    op.create_table(
        "clients",
        sa.Column("key", RowKey, primary_key=True, autoincrement=True),
        sa.Column("id", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("connected", sa.Boolean, nullable=False),
        sa.Column("hostname", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("platform_id", sa.Text, nullable=False),
        sa.Column("timezone_offset", sa.Integer, nullable=False),
        sa.Column("connected_since", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("username", sa.Text),
        sa.Column("primary_appliance", sa.String(36)),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("last_activity", sa.BigInteger, nullable=False),
        sa.Column("disconnected_at", sa.BigInteger),
        sa.Column("disconnect_reason", sa.Text),
        sa.Column("disconnect_initiator", sa.String(16)),
        sa.Column("xml_brief", sa.LargeBinary, nullable=False),
        sa.Column("xml_full", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_clients_connected_id", "clients", ["connected", "id"])
    op.create_index(
        "ux_clients_connected_id",
        "clients",
        ["id"],
        unique=True,
        sqlite_where=sa.text("connected"),
        postgresql_where=sa.text("connected"),
    )
    op.create_table(
        "connections",
        sa.Column("client_key", RowKey, sa.ForeignKey("clients.key", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("appliance_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("receive_traffic_node", sa.Boolean, nullable=False),
        sa.Column("connected_since", sa.BigInteger, nullable=False),
        sa.Column("private_ip", sa.Text, nullable=False),
    )
    op.create_index("ix_connections_appliance", "connections", ["appliance_id"])
    op.create_table(
        "events",
        sa.Column("seq", RowKey, primary_key=True, autoincrement=True),
        sa.Column("client_key", RowKey, sa.ForeignKey("clients.key", ondelete="CASCADE"), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_events_client_seq", "events", ["client_key", "seq"])
    op.create_table(
        "accounts",
        sa.Column("key", RowKey, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("legacy_login", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("key", RowKey, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("account_key", RowKey, sa.ForeignKey("accounts.key", ondelete="CASCADE"), nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_tokens_account", "tokens", ["account_key", "revoked", "expires_at"])


def downgrade() -> None:
    for table in ("tokens", "accounts", "events", "connections", "clients", "appliances", "counters", "meta"):
        op.drop_table(table)
