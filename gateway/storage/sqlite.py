"""SQLite, the embedded default: one file shared by every gunicorn worker.

WAL lets readers work beside the single writer; ``synchronous=FULL`` makes a commit durable before the
response leaves. Write transactions begin with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a
read lock. The single writer also serialises everything PostgreSQL needs row and advisory locks for, so
those are no-ops here.

Writers queue on a lock file (``flock``) beside the database before they begin: when one commits, the next
wakes at once. Left to SQLite's busy handler they would poll with growing sleeps (1, 2, 5 ... 100 ms), which
under a stream of feed batches costs far more than the writes themselves. ``busy_timeout`` stays as the
backstop for writers that do not take the lock file (other programs, the sqlite3 shell).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Table, cast, create_engine, event, func
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ColumnElement, Select

from gateway.storage.database import Database
from gateway.storage.dialect import like_prefix


class SQLiteDialect:
    name = "sqlite"
    read_options: Mapping[str, Any] = {}
    write_options: Mapping[str, Any] = {"sqlite_immediate": True}
    # A pool checkout costs more than a point read here: each thread keeps its own fast-path connection. Only
    # journal entries are written through it, and they need not wait for the disk: WAL stays consistent
    # with synchronous=NORMAL and a killed worker loses nothing (registry writes keep synchronous=FULL).
    fastpath_dedicated: tuple[str, ...] | None = ("PRAGMA synchronous = NORMAL",)
    fastpath_write_prologue: tuple[str, ...] = ()
    fastpath_data_version: str | None = "PRAGMA data_version"
    fastpath_begin: str = "BEGIN IMMEDIATE"  # the writer takes the lock at once

    def lock_rows(self, statement: Select[Any]) -> Select[Any]:
        return statement  # the single writer holds the database

    def lock(self, conn: SAConnection, key: int) -> None:
        return None  # the single writer holds the database

    def insert(self, table: Table) -> Any:
        return sqlite.insert(table)

    def prefix_match(self, column: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
        # SQLite's LIKE ignores the case of ASCII letters and uses the COLLATE NOCASE index of the column.
        return column.like(like_prefix(prefix), escape="\\")

    def json_int(self, column: ColumnElement[Any], key: str) -> ColumnElement[int]:
        return cast(func.json_extract(column, f"$.{key}"), Integer)

    def is_outage(self, exc: Exception) -> bool:
        return True  # a locked, missing or unreadable file: nothing a retry of the request would not fix


class _WriterQueue:
    """The database's writer lock: this thread, then this process, is the only writer."""

    def __init__(self, lock_file: str | None):
        self._lock = threading.Lock()  # threads of this process
        self._file = lock_file  # processes sharing the database

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._file is None:
                yield
                return
            fd = os.open(self._file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock


def _create_private(path: str) -> None:
    """Create the database file readable by its owner only (it holds hashed secrets and the journal); SQLite
    gives its -wal and -shm files the same mode. An existing file keeps its mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def open_sqlite(url: str, busy_timeout_ms: int = 10000) -> Database:
    parsed = make_url(url)
    lock_file = None
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_private(parsed.database)
        lock_file = parsed.database + "-writer.lock"
    engine = create_engine(parsed.set(drivername="sqlite+pysqlite"))

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun explicitly below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: SAConnection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return Database(engine, SQLiteDialect(), writer=_WriterQueue(lock_file))


__all__ = ["SQLiteDialect", "open_sqlite"]
