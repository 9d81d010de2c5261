"""PostgreSQL databases for the tests: one migrated template per session, a copy of it per test.

``CREATE DATABASE ... TEMPLATE`` copies a migrated schema in about 0.1 s, far less than migrating,
and each test gets a database of its own (dropped afterwards), so tests never see each other's rows.
Names start with ``pg_test_<pid>_``; databases left by a run that was killed are dropped by the next.
"""

from __future__ import annotations

import os
import uuid

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from gateway.storage import open_store
from gateway.storage.migrate import upgrade
from gateway.storage.postgresql import engine_url

ENV = "GATEWAY_TEST_POSTGRES_URL"
HOW = f"{ENV}=postgresql://postgres@127.0.0.1:5432/postgres make test"
PREFIX = "pg_test_"


class PostgresServer:
    """The server named by GATEWAY_TEST_POSTGRES_URL, reached through an autocommit admin connection."""

    def __init__(self, url: str):
        self.base = engine_url(url).set(drivername="postgresql")
        self.admin = psycopg.connect(self.base.render_as_string(hide_password=False), autocommit=True, connect_timeout=3)
        self.pid = os.getpid()

    def url(self, database: str) -> str:
        return self.base.set(database=database).render_as_string(hide_password=False)

    def new_name(self, label: str = "") -> str:
        return f"{PREFIX}{self.pid}_{label or uuid.uuid4().hex[:12]}"

    def create(self, name: str, template: str | None = None) -> str:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.admin.execute(statement)
        return self.url(name)

    def drop(self, name: str) -> None:
        self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def create_migrated_template(self) -> str:
        name = self.new_name("template")
        self.drop(name)
        store = open_store(self.create(name))
        try:
            upgrade(store)
        finally:
            store.close()  # a template must have no open sessions to be copied
        return name

    def drop_abandoned(self) -> None:
        """Drop test databases of runs whose process is gone (a killed run leaves its databases behind)."""
        rows = self.admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"]).fetchall()
        for (name,) in rows:
            pid = name[len(PREFIX):].split("_", 1)[0]
            if pid.isdigit() and int(pid) != self.pid and not _alive(int(pid)):
                try:
                    self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                except psycopg.Error:
                    pass  # still in use by someone: leave it

    def close(self) -> None:
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
