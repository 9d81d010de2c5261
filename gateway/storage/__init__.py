"""Storage backends behind one interface, chosen by the database URL."""

from __future__ import annotations

from gateway.storage.interface import Store


def open_store(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = 10000,
    pool_size: int = 5,
    timeout: int = 5,
    statement_timeout: int = 15,
) -> Store:
    """The store for ``url``: ``sqlite:///path`` or ``postgresql://`` (also ``postgres://``).

    ``pool_size``, ``timeout`` and ``statement_timeout`` apply to PostgreSQL (see postgresql.py).
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme.split("+", 1)[0] == "sqlite":
        from gateway.storage.sqlite import SQLiteStore

        return SQLiteStore(url, busy_timeout_ms=sqlite_busy_timeout_ms)
    from gateway.storage.postgresql import SCHEMES

    if scheme in SCHEMES:
        from gateway.storage.postgresql import PostgreSQLStore

        return PostgreSQLStore(url, pool_size=pool_size, timeout=timeout, statement_timeout=statement_timeout)
    raise ValueError(
        f"GATEWAY_DATABASE_URL: unsupported database {scheme!r} (use sqlite:///path or postgresql://user@host/db)"
    )


__all__ = ["Store", "open_store"]
