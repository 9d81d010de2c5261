"""PostgreSQL, for several gateway nodes sharing one registry (psycopg 3 under SQLAlchemy's pool).

What differs from SQLite, and why:

- Writers are not serialised by a database-wide lock, so the hooks of :class:`SQLStore` take row locks
  (``SELECT ... FOR UPDATE``) where an invariant spans several rows: the token cap of an account, the
  event log of a client. Counters and meta values are upserts (``INSERT ... ON CONFLICT``) so two
  nodes creating the same row at once both succeed.
- Reads run in ``REPEATABLE READ READ ONLY`` transactions: every statement of a read (a whole dump,
  a client with its connections) sees one snapshot, and a read can never write by mistake. Whole
  dumps stream through a server-side cursor.
- Every wait is bounded (connect, pool checkout, statement), and the errors that mean "the database
  is not there right now" become :class:`~gateway.errors.StorageUnavailableError` (HTTP 503). The
  pool pings a connection before lending it, so a node recovers by itself when the server returns.
"""

from __future__ import annotations

from sqlalchemy import Integer, cast, create_engine, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.inspection import like_prefix
from gateway.storage.sql import SQLStore

#: URL schemes accepted for PostgreSQL; all of them use psycopg 3.
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

#: SQLSTATE classes that mean the server is unreachable, shutting down, overloaded or timed out, or
#: that the transaction should simply be tried again: 08 connection exception, 53 insufficient
#: resources, 57 operator intervention (shutdown, statement timeout), 58 system error, 40 rollback
#: (deadlock, serialization failure). 55P03 is a lock wait that ran out of time.
_UNAVAILABLE_CLASSES = ("08", "40", "53", "57", "58")
_UNAVAILABLE_STATES = ("55P03",)

#: Key of the advisory lock that serialises schema migrations across nodes.
_MIGRATION_LOCK = 0x6761746577617921  # "gateway!"
#: Key of the advisory lock that serialises creating appliances (two writers may name the same new GUID).
_APPLIANCES_LOCK = _MIGRATION_LOCK + 1


def engine_url(url: str):
    """The SQLAlchemy URL for ``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername not in SCHEMES:
        raise ValueError(f"GATEWAY_DATABASE_URL: use postgresql://user@host:port/database (psycopg 3), not {parsed.drivername}://")
    return parsed.set(drivername="postgresql+psycopg")


class PostgreSQLStore(SQLStore):
    read_options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    # Hot writes (journal entries) commit without waiting for the WAL flush (a crash may lose the last few).
    hot_write_prologue = ("SET LOCAL synchronous_commit = off",)

    def __init__(self, url: str, *, pool_size: int = 5, timeout: int = 5, statement_timeout: int = 15):
        """``timeout`` (seconds) bounds connecting and waiting for a pooled connection;
        ``statement_timeout`` (seconds) bounds each statement on the server."""
        parsed = engine_url(url)
        options = dict(parsed.query)
        server_options = " ".join(
            filter(None, [f"-c statement_timeout={int(statement_timeout * 1000)}", options.pop("options", None)])
        )
        connect_args = {
            # libpq semantics: whole seconds, at least 2.
            "connect_timeout": max(2, int(timeout)),
            "application_name": "connected-clients-gateway",
            # A peer that vanishes without closing the socket (host down, network cut) is noticed too.
            "keepalives": 1,
            "keepalives_idle": max(1, int(timeout)),
            "keepalives_interval": 1,
            "keepalives_count": 3,
            "tcp_user_timeout": int(timeout * 1000),
            **options,
            "options": server_options,
        }
        engine = create_engine(
            parsed.set(query={}),
            connect_args=connect_args,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=timeout,
            pool_pre_ping=True,
        )
        super().__init__(engine)

    # ----------------------------------------------------------------------------------------
    # Outages
    # ----------------------------------------------------------------------------------------
    def is_outage(self, exc: Exception) -> bool:
        if not isinstance(exc, DBAPIError):
            return True  # the pool gave up waiting for a connection
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None)
        if state is None:
            return True  # failed before the server answered: refused, timed out, closed
        return state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_STATES

    # ----------------------------------------------------------------------------------------
    # Locks that stand in for SQLite's single writer
    # ----------------------------------------------------------------------------------------
    def _lock_account(self, conn: SAConnection, account_key: int) -> None:
        conn.execute(select(t.accounts.c.key).where(t.accounts.c.key == account_key).with_for_update())

    def _locked(self, statement):
        return statement.with_for_update()

    def _lock_appliances(self, conn: SAConnection) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(_APPLIANCES_LOCK)))

    def lock_migrations(self, conn: SAConnection) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))

    # ----------------------------------------------------------------------------------------
    # Inspection: prefix matches on lower(column) (the text_pattern_ops indexes of migration 0005), JSON
    # ----------------------------------------------------------------------------------------
    @staticmethod
    def _prefix_match(column, prefix: str):
        return func.lower(column).like(like_prefix(prefix.lower()), escape="\\")

    @staticmethod
    def _json_int(column, key: str):
        return cast(func.jsonb_extract_path_text(cast(column, JSONB), key), Integer)

    # ----------------------------------------------------------------------------------------
    # Upserts: the row may be created by another node at the same moment
    # ----------------------------------------------------------------------------------------
    @staticmethod
    def _set_meta(conn: SAConnection, name: str, value) -> None:
        statement = pg_insert(t.meta).values(name=name, value=jsontext.dumps(value))
        conn.execute(statement.on_conflict_do_update(index_elements=[t.meta.c.name], set_={"value": statement.excluded.value}))

    @staticmethod
    def _next_values(conn: SAConnection, name: str, count: int) -> range:
        statement = pg_insert(t.counters).values(name=name, value=count)
        last = conn.execute(
            statement.on_conflict_do_update(
                index_elements=[t.counters.c.name], set_={"value": t.counters.c.value + statement.excluded.value}
            ).returning(t.counters.c.value)
        ).scalar_one()
        return range(last - count + 1, last + 1)


__all__ = ["PostgreSQLStore", "SCHEMES", "engine_url"]
