"""The relational schema shared by every engine (SQLAlchemy Core). Migrations create it; see migrations/."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
RowKey = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

appliances = Table(
    "appliances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("hostname", Text, nullable=False),
    Column("public_hostname", Text, nullable=False),
    Column("cluster_role", String(16), nullable=False),
    Column("failover_role", String(16), nullable=False),
    Column("accepting_connections", Boolean, nullable=False),
    Column("timezone_offset", Integer, nullable=False),
    Column("version", Text, nullable=False),
    Column("healthy", Boolean, nullable=False),
    Column("error_message", Text),
    Column("enabled_shared_ips", Text, nullable=False),  # JSON list
    Column("last_data_sync_time", BigInteger),
    Column("last_data_sync_status", Text),
    Column("pinned_clients", Integer, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("key", RowKey, primary_key=True, autoincrement=True),
    Column("id", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("connected", Boolean, nullable=False),
    Column("hostname", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("platform_id", Text, nullable=False),
    Column("timezone_offset", Integer, nullable=False),
    Column("connected_since", BigInteger, nullable=False),
    Column("connected_since_offset", String(6)),  # as written in ISO 8601 (-05:00, Z); NULL: +00:00
    Column("name", Text),
    Column("username", Text),
    Column("primary_appliance", String(36)),
    Column("details", Text, nullable=False),  # JSON: type-specific fields
    Column("last_activity", BigInteger, nullable=False),
    Column("disconnected_at", BigInteger),
    Column("disconnect_reason", Text),
    Column("disconnect_initiator", String(16)),
    # The client's XML element, rendered at write time: without and with include_connections.
    Column("xml_brief", LargeBinary, nullable=False),
    Column("xml_full", LargeBinary, nullable=False),
    # The client's position in the fixture the last reset loaded; NULL once anything wrote the row.
    Column("fixture_row", Integer),
)
Index("ix_clients_connected_id", clients.c.connected, clients.c.id)
# Disconnected clients older than GATEWAY_DISCONNECTED_RETENTION are purged during writes.
Index("ix_clients_disconnected_at", clients.c.connected, clients.c.disconnected_at)
# A client id is unique among connected clients; a disconnected client keeps its id in history.
Index(
    "ux_clients_connected_id",
    clients.c.id,
    unique=True,
    sqlite_where=text("connected"),
    postgresql_where=text("connected"),
)

# The inspection API (migration 0005): every record of an id (connected or not), time windows and orders.
# Case-insensitive prefix searches on hostname, name and username have engine-specific expression indexes
# that only the migration creates (SQLite: column COLLATE NOCASE; PostgreSQL: lower(column) text_pattern_ops).
#: Names of those expression indexes (schema comparisons leave them out; see tests/test_inspect_store.py).
EXPRESSION_INDEXES = ("ix_clients_hostname_prefix", "ix_clients_name_prefix", "ix_clients_username_prefix")
Index("ix_clients_id", clients.c.id)
Index("ix_clients_connected_since", clients.c.connected_since)
Index("ix_clients_last_activity", clients.c.last_activity)

connections = Table(
    "connections",
    metadata,
    Column("client_key", RowKey, ForeignKey("clients.key", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("appliance_id", String(36), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("receive_traffic_node", Boolean, nullable=False),
    Column("connected_since", BigInteger, nullable=False),
    Column("private_ip", Text, nullable=False),
    Column("connected_since_offset", String(6)),
)
Index("ix_connections_appliance", connections.c.appliance_id)

events = Table(
    "events",
    metadata,
    Column("seq", RowKey, primary_key=True, autoincrement=True),
    Column("client_key", RowKey, ForeignKey("clients.key", ondelete="CASCADE"), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
)
Index("ix_events_client_seq", events.c.client_key, events.c.seq)
# The connection log's time windows (migration 0005).
Index("ix_events_ts", events.c.ts)

# Every accepted registry write, in commit order, for live event streams. ``seq`` comes from the
# "change_seq" counter, so it only grows (also across resets) and follows commit order on every engine.
changes = Table(
    "changes",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # connect | update | event | disconnect | reset
    Column("client_id", BigInteger),
    Column("payload", Text, nullable=False),  # JSON
)

accounts = Table(
    "accounts",
    metadata,
    Column("key", RowKey, primary_key=True, autoincrement=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("secret_hash", String(128), nullable=False),
    Column("permission", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("legacy_login", Boolean, nullable=False),
    Column("feed", Boolean, nullable=False),  # may write the registry through the feed API
    Column("admin", Boolean, nullable=False),  # may use the admin surface (reset, faults, clock, journal)
    Column("created_at", BigInteger, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    # Issue order: the oldest valid token is the one evicted when the cap is reached.
    Column("key", RowKey, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_key", RowKey, ForeignKey("accounts.key", ondelete="CASCADE"), nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False),
    # System time (not the emulator's clock) at which the token expires; NULL before migration 0008.
    Column("real_expires_at", BigInteger),
)
Index("ix_tokens_account", tokens.c.account_key, tokens.c.revoked, tokens.c.expires_at)

# --- Emulator controls (migration 0004): shared by every worker and node ---------------------------

# Injected faults. ``spec`` is the rule as the admin API took it (JSON); ``matched`` counts requests the
# rule matched and ``fired`` the times it acted, both shared so "every Nth" and seeded modes agree
# across workers; ``times`` caps ``fired`` (NULL: no cap).
fault_rules = Table(
    "fault_rules",
    metadata,
    Column("id", RowKey, primary_key=True, autoincrement=True),
    Column("spec", Text, nullable=False),
    Column("times", Integer),
    Column("matched", BigInteger, nullable=False),
    Column("fired", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
)

# The request journal: one row per API call, bounded (the oldest rows are pruned).
journal = Table(
    "journal",
    metadata,
    Column("seq", RowKey, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("face", String(16), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("action", String(128)),
    Column("account", String(64)),
    Column("params", Text),  # JSON object, secrets redacted
    Column("status", Integer),  # NULL: the connection was dropped
    Column("duration_ms", Float, nullable=False),
    Column("fault", String(16)),
    Column("headers", Text),  # JSON object, secrets redacted
    Column("error", Text),  # the text of an error the answer carried (an XML <error>, a JSON message)
    # The journal's running size in bytes through this entry (the byte budget's eviction; 0007).
    Column("bytes_upto", BigInteger, index=True),
)

# Rate-limit counters: one row per API account and period ("second", "hour"), fixed windows.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("period_start", BigInteger, nullable=False),
    Column("hits", BigInteger, nullable=False),
)

# --- Support sessions and teams (migration 0006) ------------------------------------------------------

# Support teams as an administrator configures them; members and issues as JSON lists.
support_teams = Table(
    "support_teams",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("code_name", String(128), nullable=False, unique=True),
    Column("comments", Text, nullable=False),
    Column("members", Text, nullable=False),  # JSON: [{user_id, display_name, role}]
    Column("issues", Text, nullable=False),  # JSON: [{id, code_name, description}]
)

# Custom session attributes the site defines (set_session_attributes refuses other names).
custom_attributes = Table(
    "custom_attributes",
    metadata,
    Column("code_name", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("display_name", Text, nullable=False),
)

# Sessions an action touched (others are what the connected clients' lsids say). Ended ones stay.
support_sessions = Table(
    "support_sessions",
    metadata,
    Column("lsid", String(64), primary_key=True),
    Column("queue", String(160), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("customer_id", BigInteger),
    Column("customer_name", Text, nullable=False),
    Column("rep_ids", Text, nullable=False),  # JSON list of user ids
    Column("attributes", Text, nullable=False),  # JSON object code_name -> value
    Column("ended_at", BigInteger),
    Column("end_reason", Text),
    Column("short_key", String(16)),
)
Index("ix_support_sessions_ended", support_sessions.c.ended_at)

session_chat = Table(
    "session_chat",
    metadata,
    Column("seq", RowKey, primary_key=True, autoincrement=True),
    Column("lsid", String(64), ForeignKey("support_sessions.lsid", ondelete="CASCADE"), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("sender_type", String(16), nullable=False),
    Column("sender", Text, nullable=False),
    Column("user_id", BigInteger),
    Column("text", Text, nullable=False),
)
Index("ix_session_chat_lsid", session_chat.c.lsid, session_chat.c.seq)

# Keys from generate_session_key; a customer redeems one once, before it expires.
session_keys = Table(
    "session_keys",
    metadata,
    Column("short_key", String(16), primary_key=True),
    Column("queue", String(160), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("attributes", Text, nullable=False),  # JSON object
    Column("redeemed_lsid", String(64)),
)
