"""PostgreSQL, for several gateway nodes sharing one registry (psycopg 3 under SQLAlchemy's pool).

What differs from SQLite, and why:

- Writers are not serialised by a database-wide lock, so the dialect takes row locks (``SELECT ... FOR
  UPDATE``) where an invariant spans several rows (the token cap of an account, the event log of a
  client) and advisory locks where no row exists yet (new appliances, migrations). Counters and meta
  values are upserts (``INSERT ... ON CONFLICT``) on every engine, so two nodes creating the same row
  at once both succeed.
- Reads run in ``REPEATABLE READ READ ONLY`` transactions: every statement of a read (a whole dump,
  a client with its connections) sees one snapshot, and a read can never write by mistake. Whole
  dumps stream through a server-side cursor.
- Every wait is bounded (connect, pool checkout, statement), and the errors that mean "the database
  is not there right now" become :class:`~gateway.errors.StorageUnavailableError` (HTTP 503). The
  pool pings a connection before lending it, so a node recovers by itself when the server returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, Table, cast, create_engine, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ColumnElement, Select

from gateway.storage.database import Database
from gateway.storage.dialect import like_prefix

#: URL schemes accepted for PostgreSQL; all of them use psycopg 3.
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

#: SQLSTATE classes that mean the server is unreachable, shutting down, overloaded or timed out, or
#: that the transaction should simply be tried again: 08 connection exception, 53 insufficient
#: resources, 57 operator intervention (shutdown, statement timeout), 58 system error, 40 rollback
#: (deadlock, serialization failure). 55P03 is a lock wait that ran out of time.
_UNAVAILABLE_CLASSES = ("08", "40", "53", "57", "58")
_UNAVAILABLE_STATES = ("55P03",)


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL for ``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername not in SCHEMES:
        raise ValueError(
            f"GATEWAY_DATABASE_URL: use postgresql://user@host:port/database (psycopg 3), not {parsed.drivername}://"
        )
    return parsed.set(drivername="postgresql+psycopg")


class PostgreSQLDialect:
    name = "postgresql"
    read_options: Mapping[str, Any] = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    write_options: Mapping[str, Any] = {}
    fastpath_dedicated: tuple[str, ...] | None = None
    # Fast writes (journal entries) commit without waiting for the WAL flush (a crash may lose the last few).
    fastpath_write_prologue: tuple[str, ...] = ("SET LOCAL synchronous_commit = off",)
    fastpath_data_version: str | None = None
    fastpath_begin: str = "BEGIN"  # (no dedicated connections: pooled writes begin implicitly)

    def lock_rows(self, statement: Select[Any]) -> Select[Any]:
        return statement.with_for_update()

    def lock(self, conn: SAConnection, key: int) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(key)))

    def insert(self, table: Table) -> Any:
        return postgresql.insert(table)

    def prefix_match(self, column: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
        # lower(column) LIKE: the text_pattern_ops indexes of migration 0005 serve it.
        return func.lower(column).like(like_prefix(prefix.lower()), escape="\\")

    def json_int(self, column: ColumnElement[Any], key: str) -> ColumnElement[int]:
        return cast(func.jsonb_extract_path_text(cast(column, JSONB), key), Integer)

    def is_outage(self, exc: Exception) -> bool:
        if not isinstance(exc, DBAPIError):
            return True  # the pool gave up waiting for a connection
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None)
        if state is None:
            return True  # failed before the server answered: refused, timed out, closed
        return bool(state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_STATES)


def open_postgresql(
    url: str, *, pool_size: int = 5, timeout: int = 5, statement_timeout: int = 15
) -> Database:
    """``timeout`` (seconds) bounds connecting and waiting for a pooled connection;
    ``statement_timeout`` (seconds) bounds each statement on the server."""
    parsed = engine_url(url)
    options: dict[str, Any] = dict(parsed.query)
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
    try:
        engine = create_engine(
            parsed.set(query={}),
            connect_args=connect_args,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=timeout,
            pool_pre_ping=True,
        )
    except ModuleNotFoundError as exc:  # psycopg is the [postgres] extra
        raise ValueError(
            "GATEWAY_DATABASE_URL names PostgreSQL, whose driver is not installed: "
            "pip install 'connected-clients-gateway[postgres]'"
        ) from exc
    return Database(engine, PostgreSQLDialect())


__all__ = ["SCHEMES", "PostgreSQLDialect", "engine_url", "open_postgresql"]
