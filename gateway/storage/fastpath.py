"""The fast path: the few statements every API request runs (the change counters, the bearer-token lookup,
one client's fragment, the journal entry) and the write path's per-operation statements, compiled once per
engine and executed straight on a DBAPI connection.

SQLAlchemy Core builds, caches and wraps every execution; for a one-row primary-key lookup that machinery
costs ten times the query itself (about 250 µs against 25 µs on SQLite). Statements are still written in
Core (so they stay engine-neutral) but compiled to SQL text once; errors are translated back into
SQLAlchemy's exception classes so the outage handling (503) applies unchanged.

Where checking a connection out of the pool costs more than the statement (SQLite), each thread keeps one
dedicated connection in autocommit mode: every statement is its own transaction and sees everything
committed before it. Elsewhere (PostgreSQL) statements borrow a pooled connection.

This is the one storage module that relies on private details of SQLAlchemy and the drivers:
``Compiled.positiontup`` (the order of positional parameters), ``PoolProxiedConnection.detach()`` and
the DBAPI connection behind it (a connection the pool neither resets nor counts), ``dialect.loaded_dbapi``
and ``dialect.is_disconnect``. Its guard is the benchmark row "one client (id=N) with token check,
requests/s" of ``make bench`` (target: at least 0.7x the fixed app; see docs/benchmarks.md); the write
path row ("write path ... executemany", at least 0.2x) guards Tx.exec and Tx.bulk_insert_rows in
database.py, which run prepared statements through :meth:`FastPath.translated`.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

_FETCHONE = operator.methodcaller("fetchone")
_FETCHALL = operator.methodcaller("fetchall")


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect: its SQL text and how to lay out its parameters."""

    sql: str
    order: tuple[str, ...] | None  # parameter names in positional order; None: the driver takes a dict
    fixed: Mapping[str, object]  # values the statement itself carries (its literals)

    @classmethod
    def of(cls, statement: Any, engine: Engine) -> Prepared:
        compiled = statement.compile(dialect=engine.dialect)
        fixed = {name: value for name, value in compiled.params.items() if value is not None}
        return cls(str(compiled), tuple(compiled.positiontup) if compiled.positional else None, fixed)

    def params(self, values: Mapping[str, object]) -> Any:
        merged = {**self.fixed, **values} if self.fixed else values
        return tuple(map(merged.__getitem__, self.order)) if self.order is not None else merged


class Statements:
    """The statements of one FastPath.transaction."""

    def __init__(self, cursor: Any):
        self._cursor = cursor

    def one(self, prepared: Prepared, values: Mapping[str, object]) -> Any:
        """Run one statement; its first returned row, if any."""
        cursor = self._cursor
        cursor.execute(prepared.sql, prepared.params(values))
        return cursor.fetchone() if cursor.description else None

    def many(self, prepared: Prepared, rows: Sequence[Mapping[str, object]]) -> None:
        """Run one statement (that returns nothing) for each of ``rows``, in one call of the driver."""
        self._cursor.executemany(prepared.sql, [prepared.params(values) for values in rows])


class FastPath:
    """Runs prepared statements; ``dedicated``: per-thread connections set up with those statements,
    else pooled connections (``write_prologue`` runs at the start of each write transaction)."""

    def __init__(
        self,
        engine: Engine,
        *,
        dedicated: Sequence[str] | None = None,
        write_prologue: Sequence[str] = (),
        data_version_sql: str | None = None,
        writer: Callable[[], AbstractContextManager[None]] | None = None,
        begin: str = "BEGIN",
    ):
        self.engine = engine
        #: What opens a transaction of several statements on a dedicated (autocommit) connection.
        self.begin = begin
        #: A context manager a write holds (the engine's writer queue), if it has one.
        self.writer = writer
        self.data_version_sql = data_version_sql
        self.dedicated = dedicated
        self.write_prologue = tuple(write_prologue)
        self._dbapi_error = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []

    def _translate(self, exc: Exception) -> Exception:
        return DBAPIError.instance(None, None, exc, self._dbapi_error)

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors raised inside come out as SQLAlchemy's exception classes (IntegrityError, ...)."""
        try:
            yield
        except self._dbapi_error as exc:
            raise self._translate(exc) from exc

    # --- connections ------------------------------------------------------------------------
    def _own_connection(self) -> Any:
        connection: Any = getattr(self._local, "connection", None)
        if connection is None:
            try:
                proxied = self.engine.raw_connection()  # runs the engine's connect hooks (pragmas)
                proxied.detach()  # ours for good: the pool neither resets nor counts it
            except self._dbapi_error as exc:
                raise self._translate(exc) from exc
            connection = proxied.dbapi_connection
            for sql in self.dedicated or ():
                connection.execute(sql)
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def _drop_own_connection(self, connection: Any) -> None:
        self._local.connection = None
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)
        with suppress(self._dbapi_error):
            connection.close()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A DBAPI cursor; driver errors come out as SQLAlchemy's exceptions, dead connections are dropped."""
        if self.dedicated is not None:
            connection = self._own_connection()
            cursor = connection.cursor()
            try:
                yield cursor
            except self._dbapi_error as exc:
                self._failed(exc, connection, cursor)
            finally:
                cursor.close()
            return
        try:
            raw = self.engine.raw_connection()
        except self._dbapi_error as exc:  # raised while the pool sets a new connection up
            raise self._translate(exc) from exc
        cursor = None
        try:
            cursor = raw.cursor()
            yield cursor
        except self._dbapi_error as exc:
            if self.engine.dialect.is_disconnect(exc, raw.dbapi_connection, cursor):
                raw.invalidate(exc)
            raise self._translate(exc) from exc
        finally:
            if cursor is not None:
                with suppress(self._dbapi_error):
                    cursor.close()
            raw.close()  # back to the pool, which rolls it back: no transaction stays open

    def _failed(self, exc: Any, connection: Any, cursor: Any = None) -> NoReturn:
        """Raise a dedicated connection's driver error as SQLAlchemy's; drop the connection if it is dead."""
        if self.engine.dialect.is_disconnect(exc, connection, cursor):
            self._drop_own_connection(connection)
        raise self._translate(exc) from exc

    def _run(self, sql: str, params: Any, fetch: Callable[[Any], Any]) -> Any:
        """One read statement and ``fetch`` of its cursor. A dedicated connection runs it directly (an
        implicit cursor, no context managers: this is every request's path); otherwise through cursor()."""
        if self.dedicated is None:
            with self.cursor() as cursor:
                cursor.execute(sql, params)
                return fetch(cursor)
        connection = self._own_connection()
        try:
            return fetch(connection.execute(sql, params))
        except self._dbapi_error as exc:
            self._failed(exc, connection)

    def changed(self) -> bool:
        """Whether another connection committed anything since this thread last asked (SQLite's
        ``PRAGMA data_version``: a read of shared memory, no I/O). Always True without dedicated
        connections."""
        if self.dedicated is None or self.data_version_sql is None:
            return True
        (version,) = self._run(self.data_version_sql, (), _FETCHONE)
        changed: bool = version != getattr(self._local, "data_version", None)
        self._local.data_version = version
        return changed

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            with suppress(self._dbapi_error):
                connection.close()

    # --- statements -------------------------------------------------------------------------
    def fetchone(self, prepared: Prepared, values: Mapping[str, object] | None = None) -> Any:
        return self._run(prepared.sql, prepared.params(values or {}), _FETCHONE)

    def fetchall(self, prepared: Prepared, values: Mapping[str, object] | None = None) -> list[Any]:
        found: list[Any] = self._run(prepared.sql, prepared.params(values or {}), _FETCHALL)
        return found

    @contextmanager
    def transaction(self) -> Iterator[Statements]:
        """Several writes in one transaction, committed without waiting for the disk where the engine
        allows it (yields the :class:`Statements` that run them). Committed at the end; rolled back if
        anything inside raises."""
        pooled = self.dedicated is None
        with self.writer() if self.writer else nullcontext(), self.cursor() as cursor:
            # A pooled connection opens its transaction by itself; a dedicated one is in autocommit mode.
            for sql in self.write_prologue if pooled else (self.begin,):
                cursor.execute(sql)
            try:
                yield Statements(cursor)
            except BaseException:
                if pooled:
                    cursor.connection.rollback()
                else:
                    cursor.execute("ROLLBACK")
                raise
            if pooled:
                cursor.connection.commit()
            else:
                cursor.execute("COMMIT")
