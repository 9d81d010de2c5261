"""One database: the engine, its dialect, transactions, outage translation and the row primitives every
repository shares (statements compiled once, bulk inserts, counters, meta values).

Repositories (registry.py, accounts.py, controls.py, journal.py, changes.py) hold the queries; this module
holds what they run on. Engine modules (sqlite.py, postgresql.py) build a :class:`Database` from a URL.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from types import TracebackType
from typing import Any, Literal

from sqlalchemy import Engine, Table, bindparam, insert, select
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.sql import Executable

from gateway.errors import StorageUnavailableError
from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.dialect import Dialect
from gateway.storage.fastpath import FastPath, Prepared

UNAVAILABLE = "The registry database is unavailable; try again shortly."

#: Builds a statement the first time its key is seen (see Database.prepare).
Build = Callable[[], Any]


class _OutageGuard:
    """Database.guard(): stateless, so one instance serves every thread; a class rather than a generator
    context manager because every request enters it (it costs a fraction of one)."""

    __slots__ = ("dialect",)

    def __init__(self, dialect: Dialect):
        self.dialect = dialect

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> Literal[False]:
        if exc is None:
            return False
        if isinstance(exc, (OperationalError, SAInterfaceError, PoolTimeoutError)):
            if self.dialect.is_outage(exc):
                raise StorageUnavailableError(UNAVAILABLE) from exc
        elif type(exc) is DatabaseError:  # the driver's bare one: a file that is not a database, say
            raise StorageUnavailableError(UNAVAILABLE) from exc
        return False


class Tx:
    """One open transaction (read or write): the SQLAlchemy connection and the primitives run inside it."""

    __slots__ = ("conn", "db")

    def __init__(self, db: Database, conn: SAConnection):
        self.db = db
        self.conn = conn

    def execute(self, statement: Executable) -> CursorResult[*tuple[Any, ...]]:
        return self.conn.execute(statement)

    def exec(self, key: object, build: Build, values: Mapping[str, object] | None = None) -> list[Any]:
        """Run a statement compiled once for this engine (``build()`` makes it) on the DBAPI connection of
        this transaction; its rows (attribute access by column name). The write path's per-operation
        statements so skip SQLAlchemy's per-call compilation and result processing."""
        prepared = self.db.prepare(key, build)
        with self.cursor() as cursor:
            cursor.execute(prepared.sql, prepared.params(values or {}))
            if cursor.description is None:
                return []
            row_type = self.db.row_types.get(key)
            if row_type is None:
                row_type = self.db.row_types[key] = namedtuple("Row", [d[0] for d in cursor.description])
            return [row_type(*row) for row in cursor.fetchall()]

    def bulk_insert(self, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
        """executemany straight to the driver (see bulk_insert_rows) of rows given as dicts."""
        if rows:
            names = tuple(rows[0])
            self.bulk_insert_rows(table, names, [tuple(row[name] for name in names) for row in rows])

    def bulk_insert_rows(
        self, table: Table, names: tuple[str, ...], rows: Sequence[tuple[object, ...]]
    ) -> None:
        """executemany straight to the driver: the statement is compiled once for the engine and the
        rows (tuples of ``names``' values) are not processed one by one (a reset inserts thousands of
        rows in a few milliseconds). Values must already be what the driver takes (ints, str, bytes,
        bool, None)."""
        if not rows:
            return
        prepared = self.db.prepare(
            ("bulk_insert", table.name, names),
            lambda: insert(table).values({name: bindparam(name) for name in names}),
        )
        params: Sequence[object]
        if prepared.order is None:
            params = [dict(zip(names, row, strict=True)) for row in rows]
        elif prepared.order == names:
            params = rows
        else:
            where = [names.index(name) for name in prepared.order]
            params = [tuple(row[i] for i in where) for row in rows]
        with self.cursor() as cursor:
            cursor.executemany(prepared.sql, params)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor of this transaction's DBAPI connection; driver errors come out as SQLAlchemy's
        exception classes (so IntegrityError and the outage handling apply unchanged)."""
        dbapi_connection: Any = self.conn.connection.dbapi_connection
        with self.db.fastpath.translated(), closing(dbapi_connection.cursor()) as cursor:
            yield cursor

    # --- counters and meta values: rows of their own, upserted (another node may create them at once) ---
    def next_values(self, name: str, count: int) -> range:
        """Reserve ``count`` consecutive values of a counter (its row lock orders concurrent writers)."""
        (row,) = self.exec(
            "next_values", lambda: _counter_upsert(self.db.dialect), {"name": name, "count": count}
        )
        last: int = row[0]
        return range(last - count + 1, last + 1)

    def set_counter(self, name: str, value: int) -> None:
        statement = self.db.dialect.insert(t.counters).values(name=name, value=value)
        self.conn.execute(
            statement.on_conflict_do_update(index_elements=[t.counters.c.name], set_={"value": value})
        )

    def get_meta(self, name: str) -> Any:
        value = self.conn.execute(select(t.meta.c.value).where(t.meta.c.name == name)).scalar()
        return None if value is None else jsontext.loads(value)

    def set_meta(self, name: str, value: object) -> None:
        statement = self.db.dialect.insert(t.meta).values(name=name, value=jsontext.dumps(value))
        self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=[t.meta.c.name], set_={"value": statement.excluded.value}
            )
        )


def _counter_upsert(dialect: Dialect) -> Any:
    statement = dialect.insert(t.counters).values(name=bindparam("name"), value=bindparam("count"))
    return statement.on_conflict_do_update(
        index_elements=[t.counters.c.name], set_={"value": t.counters.c.value + statement.excluded.value}
    ).returning(t.counters.c.value)


class Database:
    """An engine and its dialect; ``writer``: a lock every write transaction holds first (SQLite's queue)."""

    def __init__(
        self,
        engine: Engine,
        dialect: Dialect,
        writer: Callable[[], AbstractContextManager[None]] | None = None,
    ):
        self.engine = engine
        self.dialect = dialect
        self.writer = writer
        self.fastpath = FastPath(
            engine,
            dedicated=dialect.fastpath_dedicated,
            write_prologue=dialect.fastpath_write_prologue,
            data_version_sql=dialect.fastpath_data_version,
            writer=writer,
            begin=dialect.fastpath_begin,
        )
        self.row_types: dict[object, type] = {}
        self._prepared: dict[object, Prepared] = {}
        self._guard = _OutageGuard(dialect)
        self._on_close: list[Callable[[], None]] = []

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` first when the database is closed (a writer thread using its connections)."""
        self._on_close.append(callback)

    def prepare(self, key: object, build: Build) -> Prepared:
        """The statement ``build()`` compiled once for this engine."""
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = Prepared.of(build(), self.engine)
        return prepared

    def guard(self) -> _OutageGuard:
        """A context in which driver errors that mean "the database is unavailable" become a 503
        (StorageUnavailableError); other errors pass unchanged."""
        return self._guard

    @contextmanager
    def read(self, *, stream: bool = False) -> Iterator[Tx]:
        """A read transaction: every statement in it sees one snapshot (engine permitting); ``stream``:
        results come through a server-side cursor where the engine has one."""
        with self._guard, self.engine.connect() as conn:
            if self.dialect.read_options:
                conn = conn.execution_options(**self.dialect.read_options)
            if stream:
                conn = conn.execution_options(stream_results=True, yield_per=500)
            with conn.begin():
                yield Tx(self, conn)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction, the unit of work: committed (and durable) when the block ends without
        error, rolled back otherwise."""
        if self.writer is None:
            with self._write() as tx:
                yield tx
        else:
            with self.writer(), self._write() as tx:
                yield tx

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        with self._guard, self.engine.connect() as conn:
            conn = conn.execution_options(**self.dialect.write_options)
            with conn.begin():
                yield Tx(self, conn)

    def unchanged_since_last_read(self) -> bool:
        """True when nothing was committed by anyone since this thread's previous call (False when unsure)."""
        with self._guard:
            changed = self.fastpath.changed()
        return not changed

    def ping(self) -> None:
        with self.read() as tx:
            tx.execute(select(1))

    def close(self) -> None:
        for callback in self._on_close:
            callback()
        self.fastpath.close()
        self.engine.dispose()
