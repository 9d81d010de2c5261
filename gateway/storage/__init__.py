"""Storage backends behind one interface, chosen by the database URL."""

from __future__ import annotations

from .interface import Store


def open_store(url: str, *, sqlite_busy_timeout_ms: int = 10000) -> Store:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(url, busy_timeout_ms=sqlite_busy_timeout_ms)
    raise ValueError(f"GATEWAY_DATABASE_URL: unsupported database {scheme!r} (use sqlite:///path)")


__all__ = ["Store", "open_store"]
