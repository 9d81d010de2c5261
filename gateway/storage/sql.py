"""The SQL store: every query of the storage interface, written once in SQLAlchemy Core.

Engine modules (``sqlite.py``, ``postgresql.py``) subclass :class:`SQLStore` for what differs: how
connections are set up, how a write transaction begins, how outages are recognised.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, null, select, update
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..errors import ConflictError, GatewayError, NotFoundError, StorageUnavailableError
from ..oauth.models import Account
from ..registry.model import (
    EVENT_LOG_LIMIT,
    Appliance,
    Change,
    Client,
    ClientQuery,
    ClientType,
    Connection,
    Event,
    RepresentativeInfo,
)
from ..registry.writes import (
    AppendEvents,
    Connect,
    Disconnect,
    Operation,
    Update,
    apply_update,
    disconnect_event,
    placeholder_appliance,
)
from . import tables as t
from .controls import ControlsQueries
from .counters import ACCOUNTS_VERSION
from .hot import HotPath, Prepared
from .inspection import InspectionQueries
from .interface import Describer, Renderer


#: An accounts row read positionally on the hot path, with the attribute names _account() reads.
_AccountRow = namedtuple("_AccountRow", [c.name for c in t.accounts.columns])


class SQLStore(ControlsQueries, InspectionQueries):
    """Storage on a SQLAlchemy engine; see :mod:`gateway.storage.interface` for the contract."""

    engine: Engine

    def __init__(self, engine: Engine):
        self.engine = engine
        self.hot = HotPath(engine, dedicated=self.hot_dedicated, write_prologue=self.hot_write_prologue,
                           data_version_sql=self.hot_data_version, writer=getattr(self, "writer", None))
        self._prepared: dict = {}
        self._row_types: dict = {}

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

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, SAInterfaceError, PoolTimeoutError) as exc:
            if self.is_outage(exc):
                raise StorageUnavailableError("The registry database is unavailable; try again shortly.") from exc
            raise
        except DatabaseError as exc:
            if type(exc) is DatabaseError:  # the driver's bare DatabaseError: a file that is not a database, say
                raise StorageUnavailableError("The registry database is unavailable; try again shortly.") from exc
            raise

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
        encoded = json.dumps(value)
        if conn.execute(update(t.meta).where(t.meta.c.name == name).values(value=encoded)).rowcount == 0:
            conn.execute(insert(t.meta).values(name=name, value=encoded))

    @staticmethod
    def _next_values(conn: SAConnection, name: str, count: int) -> range:
        """Reserve ``count`` consecutive values of a counter inside the current write transaction."""
        row = conn.execute(
            update(t.counters)
            .where(t.counters.c.name == name)
            .values(value=t.counters.c.value + count)
            .returning(t.counters.c.value)
        ).first()
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
    # Accounts and tokens
    # ----------------------------------------------------------------------------------------
    @staticmethod
    def _account(row) -> Account:
        return Account(
            key=row.key,
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.secret_hash,
            permission=row.permission,
            enabled=bool(row.enabled),
            legacy_login=bool(row.legacy_login),
            feed=bool(row.feed),
            admin=bool(row.admin),
            created_at=row.created_at,
        )

    def create_account(self, account: Account) -> Account:
        values = {
            "client_id": account.client_id,
            "name": account.name,
            "secret_hash": account.secret_hash,
            "permission": account.permission,
            "enabled": account.enabled,
            "legacy_login": account.legacy_login,
            "feed": account.feed,
            "admin": account.admin,
            "created_at": account.created_at,
        }
        try:
            with self._write() as conn:
                account.key = conn.execute(insert(t.accounts).values(**values).returning(t.accounts.c.key)).scalar()
        except IntegrityError:
            raise ConflictError(f"An API account named {account.name!r} already exists.") from None
        return account

    def get_account(self, client_id: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.client_id == client_id)).first()
        return self._account(row) if row else None

    def find_account(self, name_or_client_id: str) -> Account | None:
        cond = (t.accounts.c.name == name_or_client_id) | (t.accounts.c.client_id == name_or_client_id)
        with self._read() as conn:
            rows = conn.execute(select(t.accounts).where(cond).order_by(t.accounts.c.key)).all()
        return self._account(rows[0]) if rows else None

    def list_accounts(self) -> list[Account]:
        with self._read() as conn:
            return [self._account(r) for r in conn.execute(select(t.accounts).order_by(t.accounts.c.key))]

    def update_account(self, client_id: str, *, revoke_tokens: bool = False, **values) -> bool:
        """Change account fields; with ``revoke_tokens`` every token of the account dies in the same commit."""
        with self._write() as conn:
            key = conn.execute(
                update(t.accounts)
                .where(t.accounts.c.client_id == client_id)
                .values(**values)
                .returning(t.accounts.c.key)
            ).scalar()
            if key is None:
                return False
            if revoke_tokens:
                conn.execute(
                    update(t.tokens).where(t.tokens.c.account_key == key, ~t.tokens.c.revoked).values(revoked=True)
                )
            self._next_values(conn, ACCOUNTS_VERSION, 1)  # workers drop what they cached of this account
        return True

    def issue_token(self, account_key: int, token_hash: str, issued_at: int, expires_at: int, cap: int) -> None:
        """Store a token; when the account then holds more than ``cap`` valid tokens, revoke the oldest."""
        with self._write() as conn:
            self._lock_account(conn, account_key)
            # Expired tokens can never come back; drop them so the table stays small.
            conn.execute(delete(t.tokens).where(t.tokens.c.account_key == account_key, t.tokens.c.expires_at <= issued_at))
            conn.execute(
                insert(t.tokens).values(
                    token_hash=token_hash,
                    account_key=account_key,
                    issued_at=issued_at,
                    expires_at=expires_at,
                    revoked=False,
                )
            )
            valid = (
                select(t.tokens.c.key)
                .where(t.tokens.c.account_key == account_key, ~t.tokens.c.revoked)
                .order_by(t.tokens.c.key.desc())
                .offset(cap)
            )
            evicted = conn.execute(update(t.tokens).where(t.tokens.c.key.in_(valid.scalar_subquery())).values(revoked=True))
            if evicted.rowcount:
                self._next_values(conn, ACCOUNTS_VERSION, 1)  # workers drop the evicted token from their caches

    def _lock_account(self, conn: SAConnection, account_key: int) -> None:
        """Serialise token issue per account (SQLite's write lock already does)."""

    def find_token(self, token_hash: str) -> tuple[Account, int, int, bool] | None:
        """(account, issued_at, expires_at, revoked) for a token hash, or None. Every request asks: hot path."""
        prepared = self._prepare("find_token", lambda: (
            select(t.accounts, t.tokens.c.issued_at, t.tokens.c.expires_at, t.tokens.c.revoked)
            .join(t.tokens, t.tokens.c.account_key == t.accounts.c.key)
            .where(t.tokens.c.token_hash == bindparam("token_hash"))
        ))
        with self._guard():
            row = self.hot.fetchone(prepared, {"token_hash": token_hash})
        if row is None:
            return None
        *account, issued_at, expires_at, revoked = row
        return self._account(_AccountRow(*account)), issued_at, expires_at, bool(revoked)

    def count_valid_tokens(self, client_id: str, now: int) -> int:
        query = (
            select(func.count())
            .select_from(t.tokens.join(t.accounts, t.tokens.c.account_key == t.accounts.c.key))
            .where(t.accounts.c.client_id == client_id, ~t.tokens.c.revoked, t.tokens.c.expires_at > now)
        )
        with self._read() as conn:
            return conn.execute(query).scalar_one()

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
            "enabled_shared_ips": json.dumps(a.enabled_shared_ips),
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
                enabled_shared_ips=json.loads(r.enabled_shared_ips),
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
        return json.dumps(details, separators=(",", ":"))

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
        return None if value is None else json.loads(value)

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
        with self.hot.translated(), closing(conn.connection.dbapi_connection.cursor()) as cursor:
            cursor.execute(prepared.sql, prepared.params(values or {}))
            if cursor.description is None:
                return []
            row_type = self._row_types.get(key)
            if row_type is None:
                row_type = self._row_types[key] = namedtuple("Row", [d[0] for d in cursor.description])
            return [row_type(*row) for row in cursor.fetchall()]

    def _bulk_insert(self, conn: SAConnection, table, rows: list[dict]) -> None:
        """executemany straight to the driver: the statement is compiled once for the engine and the
        rows are not processed one by one (a reset inserts thousands of rows in a few milliseconds).
        Values must already be what the driver takes (ints, str, bytes, bool, None)."""
        if not rows:
            return
        names = tuple(rows[0])
        prepared = self._prepare(("bulk_insert", table.name, names),
                                 lambda: insert(table).values({name: bindparam(name) for name in names}))
        params = [tuple(row[name] for name in prepared.order) for row in rows] if prepared.order is not None else rows
        conn.exec_driver_sql(prepared.sql, params)

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
        self._bulk_insert(conn, t.events, [{"client_key": key, "ts": e.ts, "kind": e.kind, "text": e.text}
                                           for key, e in events])

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
        if len(query.types) < len(ClientType):
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
        column = t.clients.c.xml_full if query.include_connections else t.clients.c.xml_brief
        if query.ids is not None:
            return self._fragments_by_ids(query, column)
        statement = select(column).where(self._selection(query)).order_by(t.clients.c.id)
        fragments = self._stream(statement, server_side=True)
        next(fragments)
        return fragments

    def _fragments_by_ids(self, query: ClientQuery, column) -> list[bytes]:
        """At most 100 ids: one indexed read on the hot path, all rows at once (one statement, one snapshot)."""
        types = None if len(query.types) == len(ClientType) else tuple(sorted(ct.value for ct in query.types))
        key = ("fragments", column.name, len(query.ids), types)

        def build():
            cond = [t.clients.c.connected, t.clients.c.id.in_([bindparam(f"id{i}") for i in range(len(query.ids))])]
            if types:
                cond.append(t.clients.c.type.in_([bindparam(f"type{i}") for i in range(len(types))]))
            return select(column).where(and_(*cond)).order_by(t.clients.c.id)

        values = {f"id{i}": client_id for i, client_id in enumerate(query.ids)}
        values.update({f"type{i}": value for i, value in enumerate(types or ())})
        with self._guard():
            return [bytes(fragment) for (fragment,) in self.hot.fetchall(self._prepare(key, build), values)]

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
        details = json.loads(row.details)
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

    # ----------------------------------------------------------------------------------------
    # Feed writes: connect, update, events, disconnect (one transaction per call, however many)
    # ----------------------------------------------------------------------------------------
    def apply_writes(self, ops: Sequence[Operation], render: Renderer, describe: Describer, *, now: int,
                     purge_before: int, keep_changes: int) -> list[Client]:
        """Apply operations in ONE transaction: all are durable when this returns, or none is.

        Returns each operation's client after it (``events``: the last 20, as the XML face shows
        them). An error carries ``operation`` (the index of the failing operation). Disconnected
        clients that left before ``purge_before`` and changes beyond the newest ``keep_changes`` go.
        """
        with self._write() as conn:
            results, changes = [], []
            for index, op in enumerate(ops):
                try:
                    client, kind, detail = self._apply(conn, op, render, now)
                except GatewayError as exc:
                    exc.operation = index
                    raise
                results.append(client)
                changes.append((now, kind, client.id, describe(kind, client, detail)))
            self._log_changes(conn, changes, keep=keep_changes)
            conn.execute(delete(t.clients).where(~t.clients.c.connected, t.clients.c.disconnected_at < purge_before))
        return results

    def _apply(self, conn: SAConnection, op: Operation, render: Renderer, now: int) -> tuple[Client, str, object]:
        if isinstance(op, Connect):
            client = op.client
            self._ensure_appliances(conn, client.connections)
            if client.id and conn.execute(
                select(t.clients.c.key).where(t.clients.c.connected, t.clients.c.id == client.id)
            ).first():
                raise ConflictError(f"Client id {client.id} is already connected.", details={"field": "id"})
            self._insert_clients(conn, [client], render)
            client.events = client.recent_events()
            return client, "connect", None
        client = self._load_connected(conn, op.id)
        if isinstance(op, Update):
            changed = apply_update(client, op.fields, now)
            if "connections" in op.fields:
                self._ensure_appliances(conn, client.connections)
                conn.execute(delete(t.connections).where(t.connections.c.client_key == client.key))
                self._insert_connections(conn, [(client.key, client.connections)])
            kind, detail = "update", changed
        elif isinstance(op, AppendEvents):
            # Events show only under include_connections: the brief fragment and the other columns stay
            # (fixture_row is cleared, as by every write: a quick reset must rewrite this client).
            self._append(conn, client, op.events)
            _, full = render(client, brief=False)
            self._exec(conn, "append_client", lambda: update(t.clients).where(t.clients.c.key == bindparam("k")).values(
                xml_full=bindparam("v_full"), last_activity=bindparam("v_activity"), fixture_row=null()),
                {"k": client.key, "v_full": full, "v_activity": self._last_activity(client)})
            return client, "event", op.events
        elif isinstance(op, Disconnect):
            client.connected = False
            client.disconnected_at, client.disconnect_reason, client.disconnect_initiator = op.ts, op.reason, op.initiator
            self._append(conn, client, [disconnect_event(op)])
            kind, detail = "disconnect", None
        else:  # pragma: no cover - the operation types are closed
            raise TypeError(op)
        brief, full = render(client)
        values = self._client_values(client, brief, full)
        names = tuple(values)
        self._exec(conn, ("update_client", names), lambda: update(t.clients).where(t.clients.c.key == bindparam("k")).values(
            {name: bindparam(f"v_{name}") for name in names}), {"k": client.key, **{f"v_{n}": v for n, v in values.items()}})
        return client, kind, detail

    def _append(self, conn: SAConnection, client: Client, events: list[Event]) -> None:
        self._insert_events(conn, [(client.key, e) for e in events])
        client.events = (client.events + events)[-EVENT_LOG_LIMIT:]

    def _load_connected(self, conn: SAConnection, client_id: int) -> Client:
        """The connected client ``client_id``, locked for this transaction, with its connections and
        its last 20 events (read through the (client_key, seq) index, never the whole history)."""
        row = self._exec(conn, "load_connected", lambda: self._locked(
            select(t.clients).where(t.clients.c.connected, t.clients.c.id == bindparam("id"))), {"id": client_id})
        row = row[0] if row else None
        if row is None:
            raise NotFoundError(f"No connected client has id {client_id}.", details={"field": "id"})
        client = self._client(row)
        client.connections = [
            self._connection(r) for r in self._exec(conn, "connections_of", lambda: (
                select(t.connections).where(t.connections.c.client_key == bindparam("k")).order_by(t.connections.c.position)
            ), {"k": client.key})
        ]
        recent = self._exec(conn, "recent_events", lambda: self._recent_events(bindparam("k")), {"k": client.key})
        client.events = [Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq) for r in reversed(recent)]
        return client

    def _locked(self, statement):
        """``statement`` (a SELECT of client rows inside a write) locking the rows it reads, so writers of
        one client on several nodes queue instead of interleaving (appending events and keeping the last
        20, say). SQLite's single writer already serialises them; PostgreSQL adds FOR UPDATE."""
        return statement

    @staticmethod
    def _recent_events(client_key):
        """The newest EVENT_LOG_LIMIT events of a client, newest first (an index range scan)."""
        return (select(t.events).where(t.events.c.client_key == client_key)
                .order_by(t.events.c.seq.desc()).limit(EVENT_LOG_LIMIT))

    def _lock_appliances(self, conn: SAConnection) -> None:
        """Serialise creating appliances, so two writers naming the same new GUID don't both insert it
        (SQLite's single writer already does; PostgreSQL takes an advisory transaction lock)."""

    def _ensure_appliances(self, conn: SAConnection, connections: Sequence[Connection]) -> None:
        """Create a placeholder for every appliance a connection names that the registry does not know."""
        wanted = list(dict.fromkeys(c.appliance_id for c in connections))
        if not wanted:
            return
        self._lock_appliances(conn)
        known = set(conn.execute(select(t.appliances.c.id).where(t.appliances.c.id.in_(wanted))).scalars())
        missing = [guid for guid in wanted if guid not in known]
        if missing:
            position = conn.execute(select(func.coalesce(func.max(t.appliances.c.position), -1))).scalar_one() + 1
            conn.execute(insert(t.appliances), [
                self._appliance_values(placeholder_appliance(guid, position + i)) for i, guid in enumerate(missing)
            ])

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]:
        """Create or replace appliances by id (a new one goes last); True for each one created."""
        created = []
        with self._write() as conn:
            self._lock_appliances(conn)
            for appliance in appliances:
                values = self._appliance_values(appliance)
                position = conn.execute(select(t.appliances.c.position).where(t.appliances.c.id == appliance.id)).scalar()
                if position is None:
                    values["position"] = conn.execute(
                        select(func.coalesce(func.max(t.appliances.c.position), -1))
                    ).scalar_one() + 1
                    conn.execute(insert(t.appliances).values(**values))
                else:
                    values["position"] = position
                    conn.execute(update(t.appliances).where(t.appliances.c.id == appliance.id).values(**values))
                created.append(position is None)
        return created

    # ----------------------------------------------------------------------------------------
    # The change log
    # ----------------------------------------------------------------------------------------
    def _log_changes(self, conn: SAConnection, changes: list[tuple[int, str, int | None, dict]], keep: int = 0) -> None:
        """Append changes with seqs from the "change_seq" counter (its row lock orders concurrent
        writers, so seq order is commit order); with ``keep``, drop all but the newest ``keep``."""
        if not changes:
            return
        seqs = self._next_values(conn, "change_seq", len(changes))
        conn.execute(insert(t.changes), [
            {"seq": seq, "ts": ts, "kind": kind, "client_id": client_id, "payload": json.dumps(payload, separators=(",", ":"))}
            for seq, (ts, kind, client_id, payload) in zip(seqs, changes)
        ])
        if keep:
            conn.execute(delete(t.changes).where(t.changes.c.seq <= seqs[-1] - keep))

    def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        """Changes with a seq greater than ``seq``, oldest first, at most ``limit``."""
        statement = select(t.changes).where(t.changes.c.seq > seq).order_by(t.changes.c.seq).limit(limit)
        with self._read() as conn:
            return [Change(r.seq, r.ts, r.kind, r.client_id, json.loads(r.payload)) for r in conn.execute(statement)]

