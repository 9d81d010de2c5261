"""The SQL store: every query of the storage interface, written once in SQLAlchemy Core.

Engine modules (``sqlite.py``, ``postgresql.py``) subclass :class:`SQLStore` for what differs: how
connections are set up, how a write transaction begins, how outages are recognised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine, and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..errors import ConflictError, StorageUnavailableError
from ..oauth.models import Account
from ..registry.model import (
    Appliance,
    Client,
    ClientQuery,
    ClientType,
    Connection,
    Event,
    RepresentativeInfo,
)
from . import tables as t
from .controls import ControlsQueries

#: Renders a client's XML element without and with its connections.
Renderer = Callable[[Client], tuple[bytes, bytes]]


class SQLStore(ControlsQueries):
    """Storage on a SQLAlchemy engine; see :mod:`gateway.storage.interface` for the contract."""

    engine: Engine

    def __init__(self, engine: Engine):
        self.engine = engine

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

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, SAInterfaceError, PoolTimeoutError) as exc:
            if self.is_outage(exc):
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
        self.engine.dispose()

    # ----------------------------------------------------------------------------------------
    # Meta values and counters
    # ----------------------------------------------------------------------------------------
    def get_meta(self, name: str, default=None):
        with self._read() as conn:
            value = conn.execute(select(t.meta.c.value).where(t.meta.c.name == name)).scalar()
        return default if value is None else json.loads(value)

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
            conn.execute(update(t.tokens).where(t.tokens.c.key.in_(valid.scalar_subquery())).values(revoked=True))

    def _lock_account(self, conn: SAConnection, account_key: int) -> None:
        """Serialise token issue per account (SQLite's write lock already does)."""

    def _lock_client(self, conn: SAConnection, client_key: int) -> None:
        """Serialise writes to one client's rows (its event log above all) inside a write transaction.

        Call it first in any write that reads then trims or re-renders a client (appending events and
        keeping the last 20, say), so parallel writers on several nodes queue instead of interleaving.
        SQLite's single writer already serialises them; PostgreSQL locks the client row.
        """

    def find_token(self, token_hash: str) -> tuple[Account, int, int, bool] | None:
        """(account, issued_at, expires_at, revoked) for a token hash, or None."""
        query = (
            select(t.accounts, t.tokens.c.issued_at, t.tokens.c.expires_at, t.tokens.c.revoked)
            .join(t.tokens, t.tokens.c.account_key == t.accounts.c.key)
            .where(t.tokens.c.token_hash == token_hash)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return self._account(row), row.issued_at, row.expires_at, bool(row.revoked)

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
            rep = client.rep
            details = {
                "user_id": rep.user_id,
                "type": rep.type,
                "public_display_name": rep.public_display_name,
                "private_display_name": rep.private_display_name,
                "start_session_url": rep.start_session_url,
                "presentation_count": rep.presentation_count,
                "support_session_count": rep.support_session_count,
                "showing_on_rep_list": rep.showing_on_rep_list,
                "routing_idle": rep.routing_idle,
                "routing_busy": rep.routing_busy,
                "routing_enabled": rep.routing_enabled,
                "routing_available": rep.routing_available,
                "support_license": rep.support_license,
                "support_session_lsids": rep.support_session_lsids,
            }
        elif client.type is ClientType.SUPPORT_CUSTOMER:
            details = {"non_interactive": client.non_interactive, "lsid": client.lsid}
        else:
            details = {}
        return json.dumps(details, separators=(",", ":"))

    def _client_values(self, client: Client, brief: bytes, full: bytes) -> dict:
        last_activity = max([client.connected_since] + [e.ts for e in client.events[-1:]])
        return {
            "id": client.id,
            "type": client.type.value,
            "connected": client.connected,
            "hostname": client.hostname,
            "platform": client.platform,
            "platform_id": client.platform_id,
            "timezone_offset": client.timezone_offset,
            "connected_since": client.connected_since,
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
        }

    def insert_clients(self, clients: Iterable[Client], render: Renderer) -> list[Client]:
        """Insert connected clients with their connections and events, in one transaction.

        Clients whose ``id`` is 0 get the next free ids; fragments are rendered once ids are known.
        """
        with self._write() as conn:
            return self._insert_clients(conn, list(clients), render)

    def replace_population(self, appliances: Sequence[Appliance], clients: Iterable[Client], render: Renderer) -> list[Client]:
        """Replace every appliance and client in one transaction (accounts and tokens stay)."""
        with self._write() as conn:
            for table in (t.events, t.connections, t.clients, t.appliances):
                conn.execute(delete(table))
            if appliances:
                conn.execute(insert(t.appliances), [self._appliance_values(a) for a in appliances])
            return self._insert_clients(conn, list(clients), render)

    def _insert_clients(self, conn: SAConnection, out: list[Client], render: Renderer) -> list[Client]:
        missing = [c for c in out if not c.id]
        for client, value in zip(missing, self._free_ids(conn, len(missing)) if missing else ()):
            client.id = value
        for client in out:
            brief, full = render(client)
            try:
                client.key = conn.execute(
                    insert(t.clients).values(**self._client_values(client, brief, full)).returning(t.clients.c.key)
                ).scalar()
            except IntegrityError:
                raise ConflictError(f"Client id {client.id} is already connected.") from None
        connection_rows = [
            {
                "client_key": client.key,
                "position": position,
                "appliance_id": c.appliance_id,
                "purpose": c.purpose,
                "receive_traffic_node": c.receive_traffic_node,
                "connected_since": c.connected_since,
                "private_ip": c.private_ip,
            }
            for client in out
            for position, c in enumerate(client.connections)
        ]
        if connection_rows:
            conn.execute(insert(t.connections), connection_rows)
        event_rows = [
            {"client_key": client.key, "ts": e.ts, "kind": e.kind, "text": e.text} for client in out for e in client.events
        ]
        if event_rows:
            conn.execute(insert(t.events), event_rows)
        return out

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

    def iter_fragments(self, query: ClientQuery) -> Iterator[bytes]:
        """Yield the rendered elements of the selected connected clients, by id, from one snapshot.

        The query runs before this returns, so an unavailable database fails here (a 503) and not
        after the response has begun; the read transaction then stays open until the iterator is
        exhausted or closed. A whole dump streams through a server-side cursor where the engine has one.
        """
        column = t.clients.c.xml_full if query.include_connections else t.clients.c.xml_brief
        statement = select(column).where(self._selection(query)).order_by(t.clients.c.id)
        fragments = self._stream(statement, server_side=query.ids is None)
        next(fragments)
        return fragments

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
                    Connection(
                        appliance_id=r.appliance_id,
                        purpose=r.purpose,
                        receive_traffic_node=bool(r.receive_traffic_node),
                        connected_since=r.connected_since,
                        private_ip=r.private_ip,
                    )
                )
            if with_events:
                for r in conn.execute(
                    select(t.events).where(t.events.c.client_key.in_(chunk)).order_by(t.events.c.seq)
                ):
                    by_key[r.client_key].events.append(Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq))
        return clients

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
