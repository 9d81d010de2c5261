"""The registry's rows: appliances, clients, their connections and events (and the rendered fragments the
command API serves). :class:`RegistryRows` works inside a transaction the domain opened;
:class:`RegistryRepository` reads, each read in a snapshot of its own."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select

from gateway.errors import ConflictError
from gateway.registry.inspection import ClientRecord, ClientSearch, Found, LogSearch, duration
from gateway.registry.model import EVENT_LOG_LIMIT, Appliance, Client, ClientQuery, Event
from gateway.storage import inspection, rows
from gateway.storage import tables as t
from gateway.storage.database import Database, Tx
from gateway.storage.dialect import APPLIANCES_LOCK

#: Ids per IN list when reading keys of many clients back.
_CHUNK = 500


def recent_events(client_key: Any, limit: Any = EVENT_LOG_LIMIT) -> Select[Any]:
    """The newest ``limit`` events of a client, newest first (a range scan of ix_events_client_seq)."""
    return (
        select(t.events)
        .where(t.events.c.client_key == client_key)
        .order_by(t.events.c.seq.desc())
        .limit(limit)
    )


def _fragments_statement(
    include_connections: bool, id_count: int, types: tuple[str, ...] | None
) -> Select[Any]:
    """The rendered elements of up to 100 given ids (bound as id0..idN, types as type0..typeN), by id."""
    column = t.clients.c.xml_full if include_connections else t.clients.c.xml_brief
    cond: list[ColumnElement[bool]] = [
        t.clients.c.connected,
        t.clients.c.id.in_([bindparam(f"id{i}") for i in range(id_count)]),
    ]
    if types:
        cond.append(t.clients.c.type.in_([bindparam(f"type{i}") for i in range(len(types))]))
    return select(column).where(and_(*cond)).order_by(t.clients.c.id)


def _selection(query: ClientQuery) -> ColumnElement[bool]:
    cond: list[ColumnElement[bool]] = [t.clients.c.connected]
    if not query.all_types:
        cond.append(t.clients.c.type.in_(sorted(ct.value for ct in query.types)))
    if query.ids is not None:
        cond.append(t.clients.c.id.in_(query.ids))
    return and_(*cond)


def hydrate(tx: Tx, found: Sequence[Any], with_events: bool) -> list[Client]:
    """Clients of client rows, with their connections (and whole event histories on request)."""
    clients = [rows.client(r) for r in found]
    by_key = {c.key: c for c in clients}
    keys = list(by_key)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        for r in tx.execute(
            select(t.connections)
            .where(t.connections.c.client_key.in_(chunk))
            .order_by(t.connections.c.client_key, t.connections.c.position)
        ):
            by_key[r.client_key].connections.append(rows.connection(r))
        if with_events:
            for r in tx.execute(
                select(t.events).where(t.events.c.client_key.in_(chunk)).order_by(t.events.c.seq)
            ):
                by_key[r.client_key].events.append(rows.event(r))
    return clients


class RegistryRows:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx):
        self.tx = tx

    # --- clients ---------------------------------------------------------------------------------
    def hold_client_ids(self) -> None:
        self.tx.next_values("client_id", 0)

    def is_connected(self, client_id: int) -> bool:
        found = self.tx.execute(
            select(t.clients.c.key).where(t.clients.c.connected, t.clients.c.id == client_id)
        )
        return found.first() is not None

    def free_ids(self, count: int) -> list[int]:
        ids: list[int] = []
        while len(ids) < count:
            candidates = list(self.tx.next_values("client_id", count - len(ids)))
            taken = set(
                self.tx.execute(
                    select(t.clients.c.id).where(t.clients.c.connected, t.clients.c.id.in_(candidates))
                ).scalars()
            )
            ids.extend(i for i in candidates if i not in taken)
        return ids

    def load_connected(self, client_id: int, events: int) -> tuple[Client, bytes] | None:
        dialect = self.tx.db.dialect
        found = self.tx.exec(
            "load_connected",
            lambda: dialect.lock_rows(
                select(t.clients).where(t.clients.c.connected, t.clients.c.id == bindparam("id"))
            ),
            {"id": client_id},
        )
        if not found:
            return None
        row = found[0]
        client = rows.client(row)
        client.connections = [
            rows.connection(r)
            for r in self.tx.exec(
                "connections_of",
                lambda: (
                    select(t.connections)
                    .where(t.connections.c.client_key == bindparam("k"))
                    .order_by(t.connections.c.position)
                ),
                {"k": client.key},
            )
        ]
        client.events = []
        if events > 0:
            recent = self.tx.exec(
                "recent_events",
                lambda: recent_events(bindparam("k"), bindparam("n")),
                {"k": client.key, "n": min(events, EVENT_LOG_LIMIT)},
            )
            client.events = [rows.event(r) for r in reversed(recent)]
        return client, bytes(row.xml_full)

    def insert_clients(
        self,
        clients: Sequence[Client],
        fragments: Sequence[tuple[bytes, bytes]],
        fixture_rows: Sequence[int] | None = None,
    ) -> None:
        """``fixture_rows``: the clients' positions in a reset's population (see load_population)."""
        if not clients:
            return
        values = [
            rows.client_values(client, brief, full)
            for client, (brief, full) in zip(clients, fragments, strict=True)
        ]
        if fixture_rows is not None:
            for row, fixture_row in zip(values, fixture_rows, strict=True):
                row["fixture_row"] = fixture_row
        try:
            self.tx.bulk_insert(t.clients, values)
        except IntegrityError:
            ids = [c.id for c in clients]
            clash = next((i for i in ids if ids.count(i) > 1), None) or ids[0]
            raise ConflictError(f"Client id {clash} is already connected.", details={"field": "id"}) from None
        # Connected ids are unique (ux_clients_connected_id): they find the keys just assigned.
        by_id = {c.id: c for c in clients}
        ids = list(by_id)
        for start in range(0, len(ids), _CHUNK):
            keys: Any = self.tx.execute(
                select(t.clients.c.id, t.clients.c.key).where(
                    t.clients.c.connected, t.clients.c.id.in_(ids[start : start + _CHUNK])
                )
            )
            for client_id, key in keys:
                by_id[client_id].key = key
        self._insert_connections(clients)
        self.tx.bulk_insert_rows(
            t.events,
            ("client_key", "ts", "kind", "text"),
            [(c.key, e.ts, e.kind, e.text) for c in clients for e in c.events],
        )

    def _insert_connections(self, clients: Sequence[Client]) -> None:
        self.tx.bulk_insert(
            t.connections,
            [
                rows.connection_values(c.key, position, connection)  # type: ignore[arg-type]
                for c in clients
                for position, connection in enumerate(c.connections)
            ],
        )

    def replace_connections(self, client: Client) -> None:
        self.tx.execute(delete(t.connections).where(t.connections.c.client_key == client.key))
        self._insert_connections([client])

    def add_events(self, client: Client, events: Sequence[Event]) -> None:
        self.tx.bulk_insert_rows(
            t.events,
            ("client_key", "ts", "kind", "text"),
            [(client.key, e.ts, e.kind, e.text) for e in events],
        )

    def save_client(self, client: Client, brief: bytes, full: bytes) -> None:
        values = rows.client_values(client, brief, full)
        names = tuple(values)
        self.tx.exec(
            ("update_client", names),
            lambda: (
                update(t.clients)
                .where(t.clients.c.key == bindparam("k"))
                .values({name: bindparam(f"v_{name}") for name in names})
            ),
            {"k": client.key, **{f"v_{n}": v for n, v in values.items()}},
        )

    def save_event_log(self, client: Client, full: bytes) -> None:
        # fixture_row is cleared, as by every write: a quick reset must rewrite this client.
        self.tx.exec(
            "append_client",
            lambda: (
                update(t.clients)
                .where(t.clients.c.key == bindparam("k"))
                .values(
                    xml_full=bindparam("v_full"), last_activity=bindparam("v_activity"), fixture_row=null()
                )
            ),
            {"k": client.key, "v_full": full, "v_activity": rows.last_activity(client)},
        )

    def purge_disconnected(self, before: int) -> None:
        self.tx.exec(
            "purge_disconnected",
            lambda: delete(t.clients).where(
                ~t.clients.c.connected, t.clients.c.disconnected_at < bindparam("before")
            ),
            {"before": before},
        )

    # --- appliances ------------------------------------------------------------------------------
    def lock_appliances(self) -> None:
        self.tx.db.dialect.lock(self.tx.conn, APPLIANCES_LOCK)

    def known_appliances(self, ids: Sequence[str]) -> set[str]:
        return set(self.tx.execute(select(t.appliances.c.id).where(t.appliances.c.id.in_(ids))).scalars())

    def next_appliance_position(self) -> int:
        last: int = self.tx.execute(select(func.coalesce(func.max(t.appliances.c.position), -1))).scalar_one()
        return last + 1

    def insert_appliances(self, appliances: Sequence[Appliance]) -> None:
        if appliances:
            self.tx.conn.execute(insert(t.appliances), [rows.appliance_values(a) for a in appliances])

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]:
        created = []
        self.lock_appliances()
        for appliance in appliances:
            values = rows.appliance_values(appliance)
            position = self.tx.execute(
                select(t.appliances.c.position).where(t.appliances.c.id == appliance.id)
            ).scalar()
            if position is None:
                values["position"] = self.next_appliance_position()
                self.tx.execute(insert(t.appliances).values(**values))
            else:
                values["position"] = position
                self.tx.execute(
                    update(t.appliances).where(t.appliances.c.id == appliance.id).values(**values)
                )
            created.append(position is None)
        return created

    # --- whole populations -----------------------------------------------------------------------
    def clear(self) -> None:
        for table in (t.events, t.connections, t.clients, t.appliances):
            self.tx.execute(delete(table))

    def load_population(
        self,
        appliances: Sequence[Appliance],
        clients: Sequence[Client],
        fragments: Sequence[tuple[bytes, bytes]],
        token: str | None,
    ) -> None:
        """A loaded client keeps its ``fixture_row`` until any write to its row clears it: a reset to the
        population loaded last (the same ``token``) only replaces the clients written since."""
        self.tx.execute(delete(t.appliances))
        self.insert_appliances(appliances)
        kept: set[int] = set()
        if token is not None and self.tx.get_meta("fixture_token") == token:
            self.tx.execute(delete(t.clients).where(t.clients.c.fixture_row.is_(None)))  # cascades
            kept = set(self.tx.execute(select(t.clients.c.fixture_row)).scalars())
        else:
            for table in (t.events, t.connections, t.clients):
                self.tx.execute(delete(table))
        positions = [i for i in range(len(clients)) if i not in kept]
        self.insert_clients(
            [clients[i] for i in positions], [fragments[i] for i in positions], fixture_rows=positions
        )
        self.tx.set_meta("fixture_token", token)
        self.continue_ids_after(max((c.id for c in clients), default=0))

    def continue_ids_after(self, top: int) -> None:
        self.tx.set_counter("client_id", top)

    # --- reads -----------------------------------------------------------------------------------
    def count_clients(self, connected: bool = True) -> int:
        count: int = self.tx.execute(
            select(func.count()).where(t.clients.c.connected == connected)
        ).scalar_one()
        return count


class RegistryRepository:
    """Reads of the registry (the command API's hot one, a client by id, runs on the fast path)."""

    def __init__(self, db: Database):
        self.db = db

    def iter_fragments(self, query: ClientQuery) -> Iterable[bytes]:
        """The rendered elements of the selected connected clients, by id, from one snapshot: a list when
        ``query.ids`` names them (at most 100), else an iterator streaming the whole selection.

        The query runs before this returns, so an unavailable database fails here (a 503) and not
        after the response has begun; the read transaction then stays open until the iterator is
        exhausted or closed. A whole dump streams through a server-side cursor where the engine has one.
        """
        if query.ids is not None:
            return self._fragments_by_ids(query, query.ids)
        column = t.clients.c.xml_full if query.include_connections else t.clients.c.xml_brief
        fragments = self._stream(select(column).where(_selection(query)).order_by(t.clients.c.id))
        next(fragments)
        return fragments  # type: ignore[return-value]

    def _fragments_by_ids(self, query: ClientQuery, ids: tuple[int, ...]) -> list[bytes]:
        """At most 100 ids: one indexed read on the fast path, all rows at once (one statement, one
        snapshot)."""
        types = None if query.all_types else tuple(sorted(ct.value for ct in query.types))
        key = (query.include_connections, len(ids), types)
        prepared = self.db.prepare(("fragments", *key), lambda: _fragments_statement(*key))
        values: dict[str, object] = {f"id{i}": client_id for i, client_id in enumerate(ids)}
        if types:
            values.update({f"type{i}": value for i, value in enumerate(types)})
        with self.db.guard():
            return [bytes(fragment) for (fragment,) in self.db.fastpath.fetchall(prepared, values)]

    def _stream(self, statement: Select[Any]) -> Iterator[bytes | None]:
        with self.db.read(stream=True) as tx:
            result = tx.execute(statement)
            yield None
            for (fragment,) in result:
                yield bytes(fragment)

    def list_client_summaries(self, query: ClientQuery) -> list[tuple[int, str, str | None]]:
        """(id, type, primary appliance) of the selected connected clients, by id."""
        statement = (
            select(t.clients.c.id, t.clients.c.type, t.clients.c.primary_appliance)
            .where(_selection(query))
            .order_by(t.clients.c.id)
        )
        with self.db.read() as tx:
            return [(r[0], r[1], r[2]) for r in tx.execute(statement)]

    def list_clients(self, query: ClientQuery, with_events: bool = False) -> list[Client]:
        """Whole client objects (connections always; events on request), by id."""
        with self.db.read() as tx:
            found = tx.execute(select(t.clients).where(_selection(query)).order_by(t.clients.c.id)).all()
            return hydrate(tx, found, with_events)

    def iter_clients(self, with_events: bool = False, batch: int = _CHUNK) -> Iterator[list[Client]]:
        """Every connected client, by id, in batches of whole client objects, from one read transaction
        (a dump holds one batch at a time)."""
        with self.db.read() as tx:
            after = 0
            while True:
                found = tx.execute(
                    select(t.clients)
                    .where(t.clients.c.connected, t.clients.c.id > after)
                    .order_by(t.clients.c.id)
                    .limit(batch)
                ).all()
                if not found:
                    return
                yield hydrate(tx, found, with_events)
                after = found[-1].id

    def count_clients(self, connected: bool = True) -> int:
        with self.db.read() as tx:
            count = RegistryRows(tx).count_clients(connected)
        return count

    def count_clients_by_type(self) -> dict[str, int]:
        """Connected clients per client type (types without clients are absent)."""
        statement = (
            select(t.clients.c.type, func.count()).where(t.clients.c.connected).group_by(t.clients.c.type)
        )
        with self.db.read() as tx:
            return dict(tx.execute(statement).all())

    def list_appliances(self) -> list[Appliance]:
        with self.db.read() as tx:
            found = tx.execute(
                select(t.appliances).order_by(t.appliances.c.position, t.appliances.c.id)
            ).all()
        return [rows.appliance(r) for r in found]

    def replace_appliances(self, appliances: Sequence[Appliance]) -> None:
        with self.db.write() as tx:
            tx.execute(delete(t.appliances))
            RegistryRows(tx).insert_appliances(appliances)

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]:
        """Create or replace appliances by id (a new one goes last); True for each one created."""
        with self.db.write() as tx:
            return RegistryRows(tx).upsert_appliances(appliances)

    # --- the inspection API ----------------------------------------------------------------------
    def find_clients(self, search: ClientSearch, *, visible_after: int, now: int) -> Found:
        """One page of client records (connections loaded, no events) and the total count; durations
        run to ``now`` for connected records."""
        count, page = inspection.client_statements(self.db.dialect, search, visible_after, now)
        with self.db.read() as tx:
            total: int = tx.execute(count).scalar_one()
            found = tx.execute(page).all() if search.page.offset < total else []
            return Found(_records(tx, found, now), total)

    def client_records(self, client_id: int, *, visible_after: int, now: int) -> list[ClientRecord]:
        """Every visible record of ``client_id``: the connected one first, then the newest disconnects;
        the first has its last 20 events."""
        with self.db.read() as tx:
            found = tx.execute(inspection.records_statement(client_id, visible_after)).all()
            records = _records(tx, found, now)
            if records:
                first = records[0].client
                first.events = [rows.event(r) for r in reversed(tx.execute(recent_events(first.key)).all())]
        return records

    def find_events(self, search: LogSearch, *, visible_after: int) -> Found:
        """One page of events of visible records (with their client's id, record and type) and the total."""
        count, page = inspection.event_statements(search, visible_after)
        with self.db.read() as tx:
            total: int = tx.execute(count).scalar_one()
            found = tx.execute(page).all() if search.page.offset < total else []
        return Found([inspection.log_entry(r) for r in found], total)


def _records(tx: Tx, found: Sequence[Any], now: int) -> list[ClientRecord]:
    clients = hydrate(tx, found, with_events=False)
    return [
        ClientRecord(
            client,
            row.last_activity,
            row.event_count,
            duration(client.connected_since, client.disconnected_at, now),
        )
        for client, row in zip(clients, found, strict=True)
    ]
