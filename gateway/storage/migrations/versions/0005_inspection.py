"""The inspection API: indexes for its filters and orders.

Plain indexes on clients (id, connected_since, last_activity) and events (ts); case-insensitive prefix
indexes on hostname, name and username, written per engine: SQLite's LIKE ignores ASCII case and uses an
index declared COLLATE NOCASE; PostgreSQL matches lower(column) LIKE 'prefix%', which a text_pattern_ops
index on lower(column) serves whatever the database's collation.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PREFIX_COLUMNS = ("hostname", "name", "username")


def upgrade() -> None:
    op.create_index("ix_clients_id", "clients", ["id"])
    op.create_index("ix_clients_connected_since", "clients", ["connected_since"])
    op.create_index("ix_clients_last_activity", "clients", ["last_activity"])
    op.create_index("ix_events_ts", "events", ["ts"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for column in PREFIX_COLUMNS:
        expression = f"lower({column}) text_pattern_ops" if postgresql else f"{column} COLLATE NOCASE"
        op.execute(f"CREATE INDEX ix_clients_{column}_prefix ON clients ({expression})")


def downgrade() -> None:
    for column in PREFIX_COLUMNS:
        op.execute(f"DROP INDEX ix_clients_{column}_prefix")
    op.drop_index("ix_events_ts", "events")
    op.drop_index("ix_clients_last_activity", "clients")
    op.drop_index("ix_clients_connected_since", "clients")
    op.drop_index("ix_clients_id", "clients")
