"""SQLite, the embedded default: one file shared by every gunicorn worker.

WAL lets readers work beside the single writer; ``busy_timeout`` makes a writer wait for the lock
instead of failing; ``synchronous=FULL`` makes a commit durable before the response leaves.
Write transactions begin with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

from .sql import SQLStore


class SQLiteStore(SQLStore):
    write_options = {"sqlite_immediate": True}
    # A pool checkout costs more than a point read here: each thread keeps its own hot-path connection. Only
    # journal entries are written through it, and they need not wait for the disk: WAL stays consistent
    # with synchronous=NORMAL and a killed worker loses nothing (registry writes keep synchronous=FULL).
    hot_dedicated = ("PRAGMA synchronous = NORMAL",)
    hot_data_version = "PRAGMA data_version"

    def __init__(self, url: str, busy_timeout_ms: int = 10000):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
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
