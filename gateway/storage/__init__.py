"""Storage: one :class:`~gateway.storage.database.Database` (SQLite or PostgreSQL, chosen by the URL) and one
repository per concern. Repositories read and write rows; the use cases that span rows live in the domain
(gateway.registry, gateway.oauth.accounts), which opens a unit of work with :meth:`Storage.transaction`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from gateway.storage.accounts import AccountRepository, AccountRows
from gateway.storage.changes import ChangeRepository, ChangeRows
from gateway.storage.controls import ControlRepository
from gateway.storage.database import Database, Tx
from gateway.storage.journal import JournalRepository
from gateway.storage.registry import RegistryRepository, RegistryRows
from gateway.storage.sessions import SessionRepository, SessionRows


class Unit:
    """One write transaction, as the domain's use cases see it: the rows of each concern, bound to it."""

    __slots__ = ("accounts", "changes", "registry", "sessions", "tx")

    def __init__(self, tx: Tx):
        self.tx = tx
        self.registry = RegistryRows(tx)
        self.changes = ChangeRows(tx)
        self.accounts = AccountRows(tx)
        self.sessions = SessionRows(tx)


class Storage:
    """The database and its repositories (what build_services hands to each consumer)."""

    def __init__(self, database: Database):
        self.database = database
        self.registry = RegistryRepository(database)
        self.changes = ChangeRepository(database)
        self.accounts = AccountRepository(database)
        self.controls = ControlRepository(database)
        self.journal = JournalRepository(database)
        self.sessions = SessionRepository(database)

    @contextmanager
    def transaction(self) -> Iterator[Unit]:
        """A unit of work: every row written in the block commits together when it ends, or none does."""
        with self.database.write() as tx:
            yield Unit(tx)

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def ping(self) -> None:
        self.database.ping()

    def close(self) -> None:
        self.database.close()


def open_database(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = 10000,
    pool_size: int = 5,
    timeout: int = 5,
    statement_timeout: int = 15,
) -> Database:
    """The database at ``url``: ``sqlite:///path`` or ``postgresql://`` (also ``postgres://``).

    ``pool_size``, ``timeout`` and ``statement_timeout`` apply to PostgreSQL (see postgresql.py).
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme.split("+", 1)[0] == "sqlite":
        from gateway.storage.sqlite import open_sqlite

        return open_sqlite(url, busy_timeout_ms=sqlite_busy_timeout_ms)
    from gateway.storage.postgresql import SCHEMES

    if scheme in SCHEMES:
        from gateway.storage.postgresql import open_postgresql

        return open_postgresql(url, pool_size=pool_size, timeout=timeout, statement_timeout=statement_timeout)
    raise ValueError(
        f"GATEWAY_DATABASE_URL: unsupported database {scheme!r} (use sqlite:///path or postgresql://user@host/db)"
    )


def open_store(url: str, **options: int) -> Storage:
    """The storage on the database at ``url`` (see open_database for the options)."""
    return Storage(open_database(url, **options))


__all__ = ["Database", "Storage", "Unit", "open_database", "open_store"]
