"""What differs between the engines, as one small strategy object per engine (sqlite.py, postgresql.py):
how transactions begin, how rows are locked where an invariant spans several rows, upserts, two
inspection expressions, which driver errors mean "unavailable", and the fast path's connection setup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.sql import ColumnElement, Select

#: Keys of the locks that serialise work no row lock covers (see Dialect.lock).
MIGRATION_LOCK = 0x6761746577617921  # "gateway!"
#: Two writers may name the same new appliance GUID at once.
APPLIANCES_LOCK = MIGRATION_LOCK + 1


class Dialect(Protocol):
    name: str
    #: Execution options of read transactions (PostgreSQL reads in REPEATABLE READ READ ONLY).
    read_options: Mapping[str, Any]
    #: Execution options that make a connection begin a write transaction (SQLite: BEGIN IMMEDIATE).
    write_options: Mapping[str, Any]
    #: Fast path (gateway.storage.fastpath): statements that set up a per-thread dedicated connection (None:
    #: use the pool), what starts a pooled fast write so its commit does not wait for the disk, and a
    #: statement telling whether another connection committed since it last ran, and what begins a
    #: transaction of several writes on a dedicated connection.
    fastpath_dedicated: tuple[str, ...] | None
    fastpath_write_prologue: tuple[str, ...]
    fastpath_data_version: str | None
    fastpath_begin: str

    def lock_rows(self, statement: Select[Any]) -> Select[Any]:
        """``statement`` (a SELECT inside a write) locking the rows it reads, so writers of the same rows on
        several nodes queue instead of interleaving."""
        ...

    def lock(self, conn: SAConnection, key: int) -> None:
        """Serialise the writers holding ``key`` until the transaction ends."""
        ...

    def insert(self, table: Table) -> Any:
        """The engine's INSERT with ``on_conflict_do_update`` (an upsert)."""
        ...

    def prefix_match(self, column: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
        """``column`` starts with ``prefix``, ignoring the case of ASCII letters (served by an index)."""
        ...

    def json_int(self, column: ColumnElement[Any], key: str) -> ColumnElement[int]:
        """An integer member of a JSON text column."""
        ...

    def is_outage(self, exc: Exception) -> bool:
        """Whether a driver error (or a pool timeout) means "the database is unavailable right now" (503)."""
        ...


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching values starting with ``prefix`` literally (``%``, ``_``, ``\\`` escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
