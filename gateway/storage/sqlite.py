"""SQLite, the embedded default: one file shared by every gunicorn worker.

WAL lets readers work beside the single writer; ``synchronous=FULL`` makes a commit durable before the
response leaves. Write transactions begin with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a
read lock.

Writers queue on a lock file (``flock``) beside the database before they begin: when one commits, the next
wakes at once. Left to SQLite's busy handler they would poll with growing sleeps (1, 2, 5 ... 100 ms), which
under a stream of feed batches costs far more than the writes themselves. ``busy_timeout`` stays as the
backstop for writers that do not take the lock file (other programs, the sqlite3 shell).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

from gateway.storage.sql import SQLStore


class SQLiteStore(SQLStore):
    write_options = {"sqlite_immediate": True}
    # A pool checkout costs more than a point read here: each thread keeps its own hot-path connection. Only
    # journal entries are written through it, and they need not wait for the disk: WAL stays consistent
    # with synchronous=NORMAL and a killed worker loses nothing (registry writes keep synchronous=FULL).
    hot_dedicated = ("PRAGMA synchronous = NORMAL",)
    hot_data_version = "PRAGMA data_version"

    def __init__(self, url: str, busy_timeout_ms: int = 10000):
        parsed = make_url(url)
        self._writer_lock = threading.Lock()  # threads of this process
        self._writer_file: str | None = None  # processes sharing the database
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._writer_file = parsed.database + "-writer.lock"
        engine = create_engine(parsed.set(drivername="sqlite+pysqlite"))

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # transactions are begun explicitly below
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        super().__init__(engine)

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the database's writer lock: this thread, then this process, is the only writer."""
        with self._writer_lock:
            if self._writer_file is None:
                yield
                return
            fd = os.open(self._writer_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    @contextmanager
    def _write(self):
        with self.writer(), super()._write() as conn:
            yield conn
