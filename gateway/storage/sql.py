"""The SQL store: every query of the storage interface, written once in SQLAlchemy Core.

Engine modules (``sqlite.py``, ``postgresql.py``) subclass :class:`SQLStore` for what differs: how
connections are set up, how a write transaction begins, how outages are recognised.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from gateway.errors import ConflictError, StorageUnavailableError
from gateway.registry.model import (
    Appliance,
    Client,
    ClientQuery,
    ClientType,
    Connection,
    Event,
    RepresentativeInfo,
)
from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.accounts import AccountQueries
from gateway.storage.controls import ControlsQueries
from gateway.storage.counters import ACCOUNTS_VERSION
from gateway.storage.hot import HotPath, Prepared
from gateway.storage.inspection import InspectionQueries
from gateway.storage.interface import Renderer
from gateway.storage.writes import FeedWrites


UNAVAILABLE = "The registry database is unavailable; try again shortly."


def _fragments_statement(include_connections: bool, id_count: int, types: tuple[str, ...] | None):
    """The rendered elements of up to 100 given ids (bound as id0..idN, types as type0..typeN), by id."""
    column = t.clients.c.xml_full if include_connections else t.clients.c.xml_brief
    cond = [t.clients.c.connected, t.clients.c.id.in_([bindparam(f"id{i}") for i in range(id_count)])]
    if types:
        cond.append(t.clients.c.type.in_([bindparam(f"type{i}") for i in range(len(types))]))
    return select(column).where(and_(*cond)).order_by(t.clients.c.id)


class _OutageGuard:
    """SQLStore._guard: stateless, so one instance serves every thread; a class rather than a generator
    context manager because every request enters it (it costs a fraction of one)."""

    __slots__ = ("store",)

    def __init__(self, store: "SQLStore"):
        self.store = store

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, traceback) -> bool:
        if exc is None:
            return False
        if isinstance(exc, (OperationalError, SAInterfaceError, PoolTimeoutError)):
            if self.store.is_outage(exc):
                raise StorageUnavailableError(UNAVAILABLE) from exc
        elif type(exc) is DatabaseError:  # the driver's bare DatabaseError: a file that is not a database, say
            raise StorageUnavailableError(UNAVAILABLE) from exc
        return False


class SQLStore(AccountQueries, ControlsQueries, InspectionQueries, FeedWrites):
    """Storage on a SQLAlchemy engine; see :mod:`gateway.storage.interface` for the contract."""

    engine: Engine

    def __init__(self, engine: Engine):
        self.engine = engine
        self.hot = HotPath(engine, dedicated=self.hot_dedicated, write_prologue=self.hot_write_prologue,
                           data_version_sql=self.hot_data_version, writer=getattr(self, "writer", None))
        self._prepared: dict = {}
        self._row_types: dict = {}
        self._outage_guard = _OutageGuard(self)

    def _prepare(self, key, build) -> Prepared:
        """The statement ``build()`` compiled once for this engine (hot-path statements only)."""
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = Prepared.of(build(), self.engine)
        return prepared

    # ----------------------------------------------------------------------------------------
    # Transactions
    # ----------------------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[SAConnection]:
        """A read transaction: every statement in it sees one snapshot (engine permitting, see read_options)."""
        with self._guard(), self.engine.connect() as conn:
            if self.read_options:
                conn = conn.execution_options(**self.read_options)
            with conn.begin():
                yield conn

    #: Execution options of read transactions (engine specific: PostgreSQL reads in REPEATABLE READ READ ONLY).
    read_options: dict = {}

    @contextmanager
    def _write(self) -> Iterator[SAConnection]:
        """A write transaction; committed (and durable) when the block ends without error."""
        with self._guard(), self.engine.connect() as conn:
            conn = conn.execution_options(**self.write_options)
            with conn.begin():
                yield conn

    #: Execution options that make a connection begin a write transaction (engine specific).
    write_options: dict = {}
    #: Hot path (gateway.storage.hot): statements that set up a per-thread dedicated connection (None: use the
    #: pool), and what starts a pooled hot write so its commit does not wait for the disk.
    hot_dedicated: tuple[str, ...] | None = None
    hot_write_prologue: tuple[str, ...] = ()
    #: A statement that tells, on a dedicated connection, whether any other connection committed since it
    #: was last run (lets a worker skip re-reading the change counters; see gateway.versions).
    hot_data_version: str | None = None

    def unchanged_since_last_read(self) -> bool:
        """True when nothing was committed by anyone since this thread's previous call (cheap; False when unsure)."""
        with self._guard():
            return not self.hot.changed()

    def _guard(self) -> "_OutageGuard":
        """A context in which driver errors that mean "the database is unavailable" become a 503
        (StorageUnavailableError); other errors pass unchanged."""
        return self._outage_guard

    def is_outage(self, exc: Exception) -> bool:
        """Whether a driver error (or a pool timeout) means "the database is unavailable right now" (503)."""
        return True

    def lock_migrations(self, conn: SAConnection) -> None:
        """Serialise schema migrations run by several nodes at once (SQLite's write lock already does)."""

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute(select(1))

    def close(self) -> None:
        self.hot.close()
        self.engine.dispose()

    # ----------------------------------------------------------------------------------------
    # Meta values and counters
    # ----------------------------------------------------------------------------------------
    def read_counters(self, names: tuple[str, ...]) -> dict[str, int]:
        """Current values of some counters (0 for one never bumped), in one indexed read on the hot path."""
        prepared = self._prepare(("counters", names), lambda: (
            select(t.counters.c.name, t.counters.c.value).where(
                t.counters.c.name.in_([bindparam(f"n{i}") for i in range(len(names))]))
        ))
        with self._guard():
            rows = self.hot.fetchall(prepared, {f"n{i}": name for i, name in enumerate(names)})
        values = dict.fromkeys(names, 0)
        values.update(rows)
        return values

    def get_meta(self, name: str, default=None):
        with self._read() as conn:
            value = self._meta(conn, name)
        return default if value is None else value

    def set_meta(self, name: str, value) -> None:
        with self._write() as conn:
            self._set_meta(conn, name, value)

    @staticmethod
    def _set_meta(conn: SAConnection, name: str, value) -> None:
        encoded = jsontext.dumps(value)
        if conn.execute(update(t.meta).where(t.meta.c.name == name).values(value=encoded)).rowcount == 0:
            conn.execute(insert(t.meta).values(name=name, value=encoded))

    def _next_values(self, conn: SAConnection, name: str, count: int) -> range:
        """Reserve ``count`` consecutive values of a counter inside the current write transaction."""
        rows = self._exec(conn, "next_values", lambda: (
            update(t.counters)
            .where(t.counters.c.name == bindparam("name"))
            .values(value=t.counters.c.value + bindparam("count"))
            .returning(t.counters.c.value)
        ), {"name": name, "count": count})
        row = rows[0] if rows else None
        if row is None:
            conn.execute(insert(t.counters).values(name=name, value=count))
            last = count
        else:
            last = row[0]
        return range(last - count + 1, last + 1)

    @staticmethod
    def _set_counter(conn: SAConnection, name: str, value: int) -> None:
        if conn.execute(update(t.counters).where(t.counters.c.name == name).values(value=value)).rowcount == 0:
            conn.execute(insert(t.counters).values(name=name, value=value))

    # ----------------------------------------------------------------------------------------
    # Appliances
    # ----------------------------------------------------------------------------------------
    def replace_appliances(self, appliances: Sequence[Appliance]) -> None:
        with self._write() as conn:
            conn.execute(delete(t.appliances))
            if appliances:
                conn.execute(insert(t.appliances), [self._appliance_values(a) for a in appliances])

    @staticmethod
    def _appliance_values(a: Appliance) -> dict:
        return {
            "id": a.id,
            "position": a.position,
            "name": a.name,
            "hostname": a.hostname,
            "public_hostname": a.public_hostname,
            "cluster_role": a.cluster_role,
            "failover_role": a.failover_role,
            "accepting_connections": a.accepting_connections,
            "timezone_offset": a.timezone_offset,
            "version": a.version,
            "healthy": a.healthy,
            "error_message": a.error_message,
            "enabled_shared_ips": jsontext.dumps(a.enabled_shared_ips),
            "last_data_sync_time": a.last_data_sync_time,
            "last_data_sync_status": a.last_data_sync_status,
            "pinned_clients": a.pinned_clients,
        }

    def list_appliances(self) -> list[Appliance]:
        with self._read() as conn:
            rows = conn.execute(select(t.appliances).order_by(t.appliances.c.position, t.appliances.c.id)).all()
        return [
            Appliance(
                id=r.id,
                position=r.position,
                name=r.name,
                hostname=r.hostname,
                public_hostname=r.public_hostname,
                cluster_role=r.cluster_role,
                failover_role=r.failover_role,
                accepting_connections=bool(r.accepting_connections),
                timezone_offset=r.timezone_offset,
                version=r.version,
                healthy=bool(r.healthy),
                error_message=r.error_message,
                enabled_shared_ips=jsontext.loads(r.enabled_shared_ips),
                last_data_sync_time=r.last_data_sync_time,
                last_data_sync_status=r.last_data_sync_status,
                pinned_clients=r.pinned_clients,
            )
            for r in rows
        ]

    # ----------------------------------------------------------------------------------------
    # Clients
    # ----------------------------------------------------------------------------------------
    @staticmethod
    def _details(client: Client) -> str:
        if client.type is ClientType.REPRESENTATIVE:
            details = asdict(client.rep)
            del details["username"]  # a column of its own
        elif client.type is ClientType.SUPPORT_CUSTOMER:
            details = {"non_interactive": client.non_interactive, "lsid": client.lsid}
        else:
            details = {}
        return jsontext.dumps(details)

    @staticmethod
    def _last_activity(client: Client) -> int:
        return max([client.connected_since] + [e.ts for e in client.events[-1:]])

    def _client_values(self, client: Client, brief: bytes, full: bytes) -> dict:
        last_activity = self._last_activity(client)
        return {
            "id": client.id,
            "type": client.type.value,
            "connected": client.connected,
            "hostname": client.hostname,
            "platform": client.platform,
            "platform_id": client.platform_id,
            "timezone_offset": client.timezone_offset,
            "connected_since": client.connected_since,
            "connected_since_offset": client.connected_since_offset,
            "name": client.name,
            "username": client.username,
            "primary_appliance": client.primary_appliance_id(),
            "details": self._details(client),
            "last_activity": last_activity,
            "disconnected_at": client.disconnected_at,
            "disconnect_reason": client.disconnect_reason,
            "disconnect_initiator": client.disconnect_initiator,
            "xml_brief": brief,
            "xml_full": full,
            # Any write clears it: the row no longer is what a reset loaded (see reset).
            "fixture_row": None,
        }

    def insert_clients(self, clients: Iterable[Client], render: Renderer) -> list[Client]:
        """Insert connected clients with their connections and events, in one transaction.

        Clients whose ``id`` is 0 get the next free ids; fragments are rendered once ids are known.
        """
        with self._write() as conn:
            return self._insert_clients(conn, list(clients), render)

    def replace_population(self, appliances: Sequence[Appliance], clients: Iterable[Client], render: Renderer,
                           *, now: int = 0) -> list[Client]:
        """Replace every appliance and client in one transaction (accounts and tokens stay).

        The change log restarts with one ``reset`` change; new ids continue where they were.
        """
        with self._write() as conn:
            self._clear_registry(conn)
            if appliances:
                conn.execute(insert(t.appliances), [self._appliance_values(a) for a in appliances])
            out = self._insert_clients(conn, list(clients), render)
            self._log_changes(conn, [(now, "reset", None, {"clients": len(out)})])
            return out

    def reset(self, appliances: Sequence[Appliance], clients: Sequence[Client], fragments: Sequence[tuple[bytes, bytes]],
              *, drop_accounts: bool, now: int, note: dict, token: str | None = None) -> None:
        """Replace the registry with a prepared population (ids given, fragments rendered), in one transaction.

        The change log restarts with one ``reset`` change (its ``seq`` keeps growing); new clients get
        ids after the largest one loaded. ``drop_accounts`` also deletes every API account and token.

        With a ``token`` naming the population's content, a reset to the population loaded last only
        replaces the clients written since: a loaded client keeps its ``fixture_row`` until any write
        to its row (which every write makes through ``_client_values``) clears it.
        """
        with self._write() as conn:
            for table in (t.appliances, t.changes):
                conn.execute(delete(table))
            if drop_accounts:
                conn.execute(delete(t.tokens))
                conn.execute(delete(t.accounts))
                self._next_values(conn, ACCOUNTS_VERSION, 1)  # workers forget every token they remember
            if appliances:
                conn.execute(insert(t.appliances), [self._appliance_values(a) for a in appliances])
            kept: set[int] = set()
            if token is not None and self._meta(conn, "fixture_token") == token:
                conn.execute(delete(t.clients).where(t.clients.c.fixture_row.is_(None)))  # cascades
                kept = set(conn.execute(select(t.clients.c.fixture_row)).scalars())
            else:
                for table in (t.events, t.connections, t.clients):
                    conn.execute(delete(table))
            rows = [i for i in range(len(clients)) if i not in kept]
            self._insert_clients(conn, [clients[i] for i in rows], fragments=[fragments[i] for i in rows],
                                 fixture_rows=rows)
            self._set_meta(conn, "fixture_token", token)
            self._set_counter(conn, "client_id", max((c.id for c in clients), default=0))
            self._log_changes(conn, [(now, "reset", None, note)])

    @staticmethod
    def _meta(conn: SAConnection, name: str):
        value = conn.execute(select(t.meta.c.value).where(t.meta.c.name == name)).scalar()
        return None if value is None else jsontext.loads(value)

    @staticmethod
    def _clear_registry(conn: SAConnection) -> None:
        for table in (t.events, t.connections, t.clients, t.appliances, t.changes):
            conn.execute(delete(table))

    def _insert_clients(self, conn: SAConnection, out: list[Client], render: Renderer | None = None,
                        fragments: Sequence[tuple[bytes, bytes]] | None = None,
                        fixture_rows: Sequence[int] | None = None) -> list[Client]:
        """Bulk-insert clients (ids 0 get free ids first) with their connections and events;
        ``fixture_rows``: their positions in a reset's population (see reset)."""
        if not out:
            return out
        missing = [c for c in out if not c.id]
        for client, value in zip(missing, self._free_ids(conn, len(missing)) if missing else ()):
            client.id = value
        if fragments is None:
            fragments = [render(client) for client in out]
        rows = [self._client_values(client, brief, full) for client, (brief, full) in zip(out, fragments)]
        for row, fixture_row in zip(rows, fixture_rows or ()):
            row["fixture_row"] = fixture_row
        try:
            self._bulk_insert(conn, t.clients, rows)
        except IntegrityError:
            ids = [c.id for c in out]
            clash = next((i for i in ids if ids.count(i) > 1), None) or ids[0]
            raise ConflictError(f"Client id {clash} is already connected.", details={"field": "id"}) from None
        # Connected ids are unique (ux_clients_connected_id): they find the keys just assigned.
        by_id = {c.id: c for c in out}
        ids = list(by_id)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for client_id, key in conn.execute(
                select(t.clients.c.id, t.clients.c.key).where(t.clients.c.connected, t.clients.c.id.in_(chunk))
            ):
                by_id[client_id].key = key
        self._insert_connections(conn, [(c.key, c.connections) for c in out])
        self._insert_events(conn, [(c.key, e) for c in out for e in c.events])
        return out

    def _exec(self, conn: SAConnection, key, build, values: dict | None = None) -> list:
        """Run a statement compiled once for this engine (``build()`` makes it) on the DBAPI connection of
        ``conn``, inside its transaction; its rows (attribute access by column name). The write path's
        per-operation statements so skip SQLAlchemy's per-call compilation and result processing."""
        prepared = self._prepare(key, build)
        with self._driver_cursor(conn) as cursor:
            cursor.execute(prepared.sql, prepared.params(values or {}))
            if cursor.description is None:
                return []
            row_type = self._row_types.get(key)
            if row_type is None:
                row_type = self._row_types[key] = namedtuple("Row", [d[0] for d in cursor.description])
            return [row_type(*row) for row in cursor.fetchall()]

    def _bulk_insert(self, conn: SAConnection, table, rows: list[dict]) -> None:
        """executemany straight to the driver (see _bulk_insert_rows) of rows given as dicts."""
        if rows:
            names = tuple(rows[0])
            self._bulk_insert_rows(conn, table, names, [tuple(row[name] for name in names) for row in rows])

    def _bulk_insert_rows(self, conn: SAConnection, table, names: tuple[str, ...], rows: list[tuple]) -> None:
        """executemany straight to the driver: the statement is compiled once for the engine and the
        rows (tuples of ``names``' values) are not processed one by one (a reset inserts thousands of
        rows in a few milliseconds). Values must already be what the driver takes (ints, str, bytes,
        bool, None)."""
        if not rows:
            return
        prepared = self._prepare(("bulk_insert", table.name, names),
                                 lambda: insert(table).values({name: bindparam(name) for name in names}))
        if prepared.order is None:
            params = [dict(zip(names, row)) for row in rows]
        elif prepared.order == names:
            params = rows
        else:
            where = [names.index(name) for name in prepared.order]
            params = [tuple(row[i] for i in where) for row in rows]
        with self._driver_cursor(conn) as cursor:
            cursor.executemany(prepared.sql, params)

    @contextmanager
    def _driver_cursor(self, conn: SAConnection) -> Iterator:
        """A cursor of ``conn``'s DBAPI connection, inside its transaction; driver errors come out as
        SQLAlchemy's exception classes (so IntegrityError and the outage handling apply unchanged)."""
        with self.hot.translated(), closing(conn.connection.dbapi_connection.cursor()) as cursor:
            yield cursor

    def _insert_connections(self, conn: SAConnection, per_client: list[tuple[int, list[Connection]]]) -> None:
        rows = [
            {
                "client_key": key,
                "position": position,
                "appliance_id": c.appliance_id,
                "purpose": c.purpose,
                "receive_traffic_node": c.receive_traffic_node,
                "connected_since": c.connected_since,
                "private_ip": c.private_ip,
                "connected_since_offset": c.connected_since_offset,
            }
            for key, connections in per_client
            for position, c in enumerate(connections)
        ]
        self._bulk_insert(conn, t.connections, rows)

    def _insert_events(self, conn: SAConnection, events: list[tuple[int, Event]]) -> None:
        self._bulk_insert_rows(conn, t.events, ("client_key", "ts", "kind", "text"),
                               [(key, e.ts, e.kind, e.text) for key, e in events])

    def _free_ids(self, conn: SAConnection, count: int) -> list[int]:
        """Allocate ``count`` ids not held by a connected client (ids grow, as on the appliance)."""
        ids: list[int] = []
        while len(ids) < count:
            candidates = list(self._next_values(conn, "client_id", count - len(ids)))
            taken = set(
                conn.execute(
                    select(t.clients.c.id).where(t.clients.c.connected, t.clients.c.id.in_(candidates))
                ).scalars()
            )
            ids.extend(i for i in candidates if i not in taken)
        return ids

    def clear_clients(self) -> None:
        with self._write() as conn:
            conn.execute(delete(t.events))
            conn.execute(delete(t.connections))
            conn.execute(delete(t.clients))

    def count_clients(self, connected: bool = True) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).where(t.clients.c.connected == connected)).scalar_one()

    @staticmethod
    def _selection(query: ClientQuery):
        cond = [t.clients.c.connected]
        if not query.all_types:
            cond.append(t.clients.c.type.in_(sorted(ct.value for ct in query.types)))
        if query.ids is not None:
            cond.append(t.clients.c.id.in_(query.ids))
        return and_(*cond)

    def iter_fragments(self, query: ClientQuery) -> Iterable[bytes]:
        """The rendered elements of the selected connected clients, by id, from one snapshot: a list when
        ``query.ids`` names them (at most 100), else an iterator streaming the whole selection.

        The query runs before this returns, so an unavailable database fails here (a 503) and not
        after the response has begun; the read transaction then stays open until the iterator is
        exhausted or closed. A whole dump streams through a server-side cursor where the engine has one.
        """
        if query.ids is not None:
            return self._fragments_by_ids(query)
        column = t.clients.c.xml_full if query.include_connections else t.clients.c.xml_brief
        statement = select(column).where(self._selection(query)).order_by(t.clients.c.id)
        fragments = self._stream(statement, server_side=True)
        next(fragments)
        return fragments

    def _fragments_by_ids(self, query: ClientQuery) -> list[bytes]:
        """At most 100 ids: one indexed read on the hot path, all rows at once (one statement, one snapshot)."""
        ids = query.ids
        types = None if query.all_types else tuple(sorted(ct.value for ct in query.types))
        key = (query.include_connections, len(ids), types)
        prepared = self._prepare(("fragments", *key), lambda: _fragments_statement(*key))
        values = {f"id{i}": client_id for i, client_id in enumerate(ids)}
        if types:
            values.update({f"type{i}": value for i, value in enumerate(types)})
        with self._guard():
            return [bytes(fragment) for (fragment,) in self.hot.fetchall(prepared, values)]

    def _stream(self, statement, server_side: bool) -> Iterator:
        with self._read() as conn:
            if server_side:
                conn = conn.execution_options(stream_results=True, yield_per=500)
            result = conn.execute(statement)
            yield None
            for (fragment,) in result:
                yield bytes(fragment)

    def list_client_summaries(self, query: ClientQuery) -> list[tuple[int, str, str | None]]:
        """(id, type, primary appliance) of the selected connected clients, by id."""
        statement = (
            select(t.clients.c.id, t.clients.c.type, t.clients.c.primary_appliance)
            .where(self._selection(query))
            .order_by(t.clients.c.id)
        )
        with self._read() as conn:
            return [tuple(r) for r in conn.execute(statement)]

    def list_clients(self, query: ClientQuery, with_events: bool = False) -> list[Client]:
        """Whole client objects (connections always; events on request), by id."""
        with self._read() as conn:
            rows = conn.execute(select(t.clients).where(self._selection(query)).order_by(t.clients.c.id)).all()
            return self._hydrate(conn, rows, with_events)

    def _hydrate(self, conn: SAConnection, rows, with_events: bool) -> list[Client]:
        clients = [self._client(r) for r in rows]
        by_key = {c.key: c for c in clients}
        if not by_key:
            return clients
        keys = list(by_key)
        for chunk_start in range(0, len(keys), 500):
            chunk = keys[chunk_start : chunk_start + 500]
            for r in conn.execute(
                select(t.connections)
                .where(t.connections.c.client_key.in_(chunk))
                .order_by(t.connections.c.client_key, t.connections.c.position)
            ):
                by_key[r.client_key].connections.append(
                    self._connection(r)
                )
            if with_events:
                for r in conn.execute(
                    select(t.events).where(t.events.c.client_key.in_(chunk)).order_by(t.events.c.seq)
                ):
                    by_key[r.client_key].events.append(Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq))
        return clients

    @staticmethod
    def _connection(row) -> Connection:
        return Connection(
            appliance_id=row.appliance_id,
            purpose=row.purpose,
            receive_traffic_node=bool(row.receive_traffic_node),
            connected_since=row.connected_since,
            private_ip=row.private_ip,
            connected_since_offset=row.connected_since_offset,
        )

    @staticmethod
    def _client(row) -> Client:
        details = jsontext.loads(row.details)
        ctype = ClientType(row.type)
        client = Client(
            key=row.key,
            id=row.id,
            type=ctype,
            hostname=row.hostname,
            platform=row.platform,
            platform_id=row.platform_id,
            timezone_offset=row.timezone_offset,
            connected_since=row.connected_since,
            connected_since_offset=row.connected_since_offset,
            name=row.name,
            connected=bool(row.connected),
            disconnected_at=row.disconnected_at,
            disconnect_reason=row.disconnect_reason,
            disconnect_initiator=row.disconnect_initiator,
        )
        if ctype is ClientType.REPRESENTATIVE:
            client.rep = RepresentativeInfo(username=row.username or "", **details)
        elif ctype is ClientType.SUPPORT_CUSTOMER:
            client.non_interactive = details.get("non_interactive")
            client.lsid = details.get("lsid")
        return client
