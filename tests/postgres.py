"""PostgreSQL databases for the tests: one migrated database per session, emptied before each test.

Emptying (end any session a previous test left, then ``TRUNCATE`` every table of tables.py and restart
its sequences) takes about 0.04 s; copying a migrated template with ``CREATE DATABASE ... TEMPLATE``
took 0.2-0.35 s per test on the two-core machine, and migrating per test longer still. Tests run one
after the other, so each one starts from an empty, migrated schema of its own.
Names start with ``pg_test_<pid>_``; databases left by a run that was killed are dropped by the next.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from gateway.storage import open_store
from gateway.storage.migrate import upgrade
from gateway.storage.postgresql import engine_url
from gateway.storage.tables import metadata

ENV = "GATEWAY_TEST_POSTGRES_URL"
HOW = f"{ENV}=postgresql://postgres@127.0.0.1:5432/postgres make test"
PREFIX = "pg_test_"


class PostgresServer:
    """The server named by GATEWAY_TEST_POSTGRES_URL, reached through an autocommit admin connection."""

    def __init__(self, url: str):
        self.base = engine_url(url).set(drivername="postgresql")
        self.admin = psycopg.connect(
            self.base.render_as_string(hide_password=False), autocommit=True, connect_timeout=3
        )
        self.pid = os.getpid()
        self._resetters: dict[str, psycopg.Connection] = {}

    def url(self, database: str) -> str:
        return self.base.set(database=database).render_as_string(hide_password=False)

    def new_name(self, label: str = "") -> str:
        return f"{PREFIX}{self.pid}_{label or uuid.uuid4().hex[:12]}"

    def create(self, name: str) -> str:
        self.admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop(self, name: str) -> None:
        if name in self._resetters:
            self._resetters.pop(name).close()
        self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def create_migrated(self, label: str) -> str:
        name = self.new_name(label)
        self.drop(name)
        store = open_store(self.create(name))
        try:
            upgrade(store)
        finally:
            store.close()
        return name

    def empty(self, name: str) -> str:
        """End every other session on database ``name``, empty all its tables; its URL."""
        conn = self._resetters.get(name)
        if conn is None:
            conn = self._resetters[name] = psycopg.connect(self.url(name), autocommit=True)
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        tables = sql.SQL(", ").join(sql.Identifier(table.name) for table in metadata.sorted_tables)
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
        return self.url(name)

    def drop_abandoned(self) -> None:
        """Drop test databases of runs whose process is gone (a killed run leaves its databases behind)."""
        rows = self.admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"]
        ).fetchall()
        for (name,) in rows:
            pid = name[len(PREFIX) :].split("_", 1)[0]
            if pid.isdigit() and int(pid) != self.pid and not _alive(int(pid)):
                with contextlib.suppress(psycopg.Error):  # still in use by someone: leave it
                    self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    def close(self) -> None:
        for conn in self._resetters.values():
            conn.close()
        self.admin.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(url: str) -> str:
    """host:port/database of a URL, for messages (never the password)."""
    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
