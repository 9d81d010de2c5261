"""The registry's use cases for the faces (command API, JSON API, CLI): reads, and every write, each in one
unit of work the storage provides: load, apply the rule (gateway.registry.operations), render (through the
:class:`~gateway.registry.ports.Renderer`), save, log the change (its payload: gateway.registry.documents).
Plain Python: no Flask, no SQL, no wire format."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gateway.clock import Clock
from gateway.errors import ConflictError, GatewayError, NotFoundError
from gateway.registry import documents
from gateway.registry.inspection import ClientDetail, ClientSearch, Found, LogSearch
from gateway.registry.model import (
    CLIENT_TYPES,
    EVENT_LOG_LIMIT,
    PINNED_CLIENT,
    Appliance,
    Change,
    Client,
    ClientQuery,
    ClientType,
    Connection,
    Event,
    NewChange,
)
from gateway.registry.operations import (
    AppendEvents,
    Connect,
    Disconnect,
    Operation,
    Update,
    apply_update,
    at_operation,
    disconnect_event,
    fill_defaults,
    placeholder_appliance,
    prepare,
)
from gateway.registry.ports import RegistryRows, RegistryStorage, Renderer


@dataclass
class ApplianceSummary:
    appliance_id: str
    #: client type (or pinned_client) -> count, in the documented type order; zero counts omitted.
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ClientList:
    summaries: list[ApplianceSummary]
    #: (type, id) per client; None when only the summary was asked for.
    clients: list[tuple[str, int]] | None


@dataclass
class LoggedInRep:
    user_id: int
    client: Client


@dataclass
class Population:
    """A population ready to load: ids assigned, fragments rendered (a reset reuses it as it is)."""

    appliances: list[Appliance]
    clients: list[Client]
    fragments: list[tuple[bytes, bytes]]
    #: Names the content: a reset to the population loaded last keeps the clients nothing wrote since
    #: (None: replace every client).
    token: str | None = ""


class Registry:
    """``render`` gives a client's XML fragments (the app passes gateway.xml.clients.render_client)."""

    def __init__(
        self,
        storage: RegistryStorage,
        clock: Clock,
        render: Renderer,
        *,
        disconnected_retention: int = 86400,
        keep_changes: int = 100_000,
    ):
        self.storage = storage
        self.clock = clock
        self.render = render
        self.disconnected_retention = disconnected_retention
        self.keep_changes = keep_changes

    # --- command API reads --------------------------------------------------------------------
    def fragments(self, query: ClientQuery) -> Iterable[bytes]:
        return self.storage.registry.iter_fragments(query)

    def client_list(self, query: ClientQuery, *, summary_only: bool, include_pinned: bool) -> ClientList:
        rows = self.storage.registry.list_client_summaries(query)
        appliances = self.storage.registry.list_appliances()
        counts: dict[str, dict[str, int]] = {a.id: {} for a in appliances}
        for _, ctype, appliance_id in rows:
            if appliance_id is None:
                continue  # a client without appliance connections belongs to no appliance summary
            per_type = counts.setdefault(appliance_id, {})
            per_type[ctype] = per_type.get(ctype, 0) + 1
        if include_pinned:
            for appliance in appliances:
                if appliance.pinned_clients:
                    counts[appliance.id][PINNED_CLIENT] = appliance.pinned_clients
        order = [ct.value for ct in CLIENT_TYPES] + [PINNED_CLIENT]
        summaries = [
            ApplianceSummary(appliance_id, {k: per_type[k] for k in order if per_type.get(k)})
            for appliance_id, per_type in counts.items()
            if per_type
        ]
        clients = None if summary_only else [(ctype, client_id) for client_id, ctype, _ in rows]
        return ClientList(summaries, clients)

    def logged_in_reps(self) -> list[LoggedInRep]:
        """One entry per logged-in representative (user), from their earliest console connection."""
        reps: dict[int, Client] = {}
        reps_only = ClientQuery(types=frozenset({ClientType.REPRESENTATIVE}))
        for client in self.storage.registry.list_clients(reps_only):
            assert client.rep is not None  # every representative has its fields
            current = reps.get(client.rep.user_id)
            if current is None or client.connected_since < current.connected_since:
                reps[client.rep.user_id] = client
        return [LoggedInRep(user_id, client) for user_id, client in sorted(reps.items())]

    def appliances(self) -> list[Appliance]:
        return self.storage.registry.list_appliances()

    def health_appliance(
        self, appliance_id: str = "", fallback_hostname: str = "localhost", version: str = ""
    ) -> Appliance:
        """The appliance that answers check_health: the configured one, else the first, else this gateway."""
        appliances = self.storage.registry.list_appliances()
        for appliance in appliances:
            if appliance.id == appliance_id:
                return appliance
        if appliances and not appliance_id:
            return appliances[0]
        return Appliance(
            id=appliance_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, fallback_hostname)),
            name=fallback_hostname,
            hostname=fallback_hostname,
            public_hostname=fallback_hostname,
            version=version,
        )

    # --- writes -------------------------------------------------------------------------------
    def replace_population(self, appliances: Sequence[Appliance], clients: Sequence[Client]) -> list[Client]:
        """Replace every appliance and client in one transaction (accounts and tokens stay); clients without
        an id get free ones. The change log restarts with one ``reset`` change; new ids continue."""
        now = self.clock.now_int()
        out = list(clients)
        with self.storage.transaction() as unit:
            unit.changes.clear()
            unit.sessions.clear()
            unit.registry.clear()
            unit.registry.insert_appliances(appliances)
            missing = [c for c in out if not c.id]
            # free_ids(n) gives exactly n ids.
            ids = unit.registry.free_ids(len(missing)) if missing else ()
            for client, value in zip(missing, ids, strict=True):
                client.id = value
            unit.registry.insert_clients(out, [self._fragments(c) for c in out])
            unit.changes.append([NewChange(now, "reset", None, {"clients": len(out)})])
        return out

    def apply(self, ops: Sequence[Operation], *, batch: bool = False) -> list[Client]:
        """Apply feed operations in one transaction (all or nothing), durable when this returns.

        Returns each operation's client after it (``events``: the last 20, as the XML face shows them).
        Times left out are now; an error carries ``operation`` (the index of the failing one), and with
        ``batch`` names ``operations.N.field``. Disconnected clients that left longer than the retention
        ago go, and changes beyond the newest ``keep_changes``.
        """
        now = self.clock.now_int()
        try:
            prepare(ops, now)
            with self.storage.transaction() as unit:
                results, changes = [], []
                for index, op in enumerate(ops):
                    try:
                        client, kind, detail = self._apply(unit.registry, op, now)
                    except GatewayError as exc:
                        raise exc.with_operation(index) from None
                    results.append(client)
                    changes.append(NewChange(now, kind, client.id, documents.change(kind, client, detail)))
                unit.changes.append(changes, keep=self.keep_changes)
                unit.registry.purge_disconnected(now - self.disconnected_retention)
            return results
        except GatewayError as exc:
            if batch and exc.operation is not None:
                raise at_operation(exc, exc.operation) from None
            raise

    def apply_within(self, rows: RegistryRows, ops: Sequence[Operation], now: int) -> list[NewChange]:
        """Apply operations inside a unit of work another use case opened (the session actions change
        clients and sessions together); the changes to log. Times left out are ``now``."""
        prepare(ops, now)
        changes = []
        for op in ops:
            client, kind, detail = self._apply(rows, op, now)
            changes.append(NewChange(now, kind, client.id, documents.change(kind, client, detail)))
        return changes

    def _apply(self, rows: RegistryRows, op: Operation, now: int) -> tuple[Client, str, object]:
        """One operation inside the transaction: (the client after it, the change kind, its detail)."""
        if isinstance(op, Connect):
            client = op.client
            self._ensure_appliances(rows, client.connections)
            if client.id:
                # Hold the id counter before looking: a connect that leaves its id to the store takes the
                # same lock to pick one, so it waits for this one to commit and then sees the id taken,
                # instead of picking the same id and failing on the unique index.
                rows.hold_client_ids()
                if rows.is_connected(client.id):
                    raise ConflictError(
                        f"Client id {client.id} is already connected.", details={"field": "id"}
                    )
            else:
                client.id = rows.free_ids(1)[0]
            rows.insert_clients([client], [self._fragments(client)])
            client.events = client.recent_events()
            return client, "connect", None
        # Appended events push older ones out of the 20-event log: read only the ones that stay.
        stay = EVENT_LOG_LIMIT - (
            len(op.events) if isinstance(op, AppendEvents) else 1 if isinstance(op, Disconnect) else 0
        )
        loaded = rows.load_connected(op.id, stay)
        if loaded is None:
            raise NotFoundError(f"No connected client has id {op.id}.", details={"field": "id"})
        client, stored_full = loaded
        kind: str
        detail: object = None
        if isinstance(op, Update):
            detail = apply_update(client, op.fields, now)
            if "connections" in op.fields:
                self._ensure_appliances(rows, client.connections)
                rows.replace_connections(client)
            kind = "update"
        elif isinstance(op, AppendEvents):
            # Events show only under include_connections: the brief fragment and the other columns stay, and
            # only the event log of the full one is rendered again.
            self._append(rows, client, op.events)
            _, full = self.render(client, brief=False, events_of=stored_full)
            rows.save_event_log(client, full)
            return client, "event", op.events
        else:
            client.connected = False
            client.disconnected_at, client.disconnect_reason = op.ts, op.reason
            client.disconnect_initiator = op.initiator
            self._append(rows, client, [disconnect_event(op)])
            kind = "disconnect"
        rows.save_client(client, *self._fragments(client))
        return client, kind, detail

    @staticmethod
    def _append(rows: RegistryRows, client: Client, events: list[Event]) -> None:
        """Store events; the client keeps the last 20 (the XML face's event log)."""
        rows.add_events(client, events)
        client.events = (client.events + events)[-EVENT_LOG_LIMIT:]

    @staticmethod
    def _ensure_appliances(rows: RegistryRows, connections: Sequence[Connection]) -> None:
        """Create a placeholder for every appliance a connection names that the registry does not know."""
        wanted = list(dict.fromkeys(c.appliance_id for c in connections))
        if not wanted:
            return
        rows.lock_appliances()
        known = rows.known_appliances(wanted)
        missing = [guid for guid in wanted if guid not in known]
        if missing:
            position = rows.next_appliance_position()
            rows.insert_appliances(
                [placeholder_appliance(guid, position + i) for i, guid in enumerate(missing)]
            )

    def _fragments(self, client: Client) -> tuple[bytes, bytes]:
        """Both fragments of a client (without and with connections)."""
        brief, full = self.render(client)
        assert brief is not None  # brief=True always renders it
        return brief, full

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]:
        """Create or replace appliances; one sent without a version keeps the version it had (check_health
        reports the software an appliance runs, which a write that does not mention it does not change)."""
        if any(not a.version for a in appliances):
            known = {a.id: a.version for a in self.storage.registry.list_appliances()}
            for appliance in appliances:
                if not appliance.version:
                    appliance.version = known.get(appliance.id, "")
        return self.storage.registry.upsert_appliances(appliances)

    def prepare(self, appliances: Sequence[Appliance], clients: Sequence[Client]) -> Population:
        """Assign the ids clients lack (after the largest given, in order), fill times left out (now)
        and render every fragment."""
        now = self.clock.now_int()
        next_id = max((c.id for c in clients), default=0)
        for client in clients:
            fill_defaults(Connect(client), now)
            if not client.id:
                next_id += 1
                client.id = next_id
        fragments = [self._fragments(c) for c in clients]
        digest = hashlib.sha256(repr((appliances, clients)).encode())
        for _brief, full in fragments:
            digest.update(full)
        return Population(list(appliances), list(clients), fragments, digest.hexdigest()[:32])

    def reset(
        self, population: Population, *, drop_accounts: bool = False, note: dict[str, object] | None = None
    ) -> None:
        """Replace the registry with a prepared population in one transaction. The change log restarts with
        one ``reset`` change (its ``seq`` keeps growing); new clients get ids after the largest one loaded.
        ``drop_accounts`` also deletes every API account and token."""
        now = self.clock.now_int()
        with self.storage.transaction() as unit:
            unit.changes.clear()
            unit.sessions.clear()
            if drop_accounts:
                unit.accounts.delete_all()
            unit.registry.load_population(
                population.appliances, population.clients, population.fragments, population.token
            )
            unit.changes.append([NewChange(now, "reset", None, note or {})])

    def load(
        self,
        appliances: Sequence[Appliance],
        batches: Iterable[Sequence[Client]],
        *,
        note: dict[str, object] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Replace the registry with appliances and clients that arrive in batches (a fixture file read as
        a stream), in one transaction: each batch gets its times left out and its fragments, and is
        written before the next is read, so memory holds one batch whatever the population. Every client
        has its id. An error from ``batches`` (a problem further in the file) rolls everything back.
        ``progress`` is told the clients written. Returns how many were."""
        now = self.clock.now_int()
        count = top = 0
        with self.storage.transaction() as unit:
            unit.changes.clear()
            unit.registry.load_population(appliances, (), (), None)
            for batch in batches:
                if not batch:
                    continue
                for client in batch:
                    fill_defaults(Connect(client), now)
                unit.registry.insert_clients(batch, [self._fragments(c) for c in batch])
                count += len(batch)
                top = max(top, *(c.id for c in batch))
                if progress:
                    progress(len(batch))
            unit.registry.continue_ids_after(top)
            unit.changes.append([NewChange(now, "reset", None, {**(note or {}), "clients": count})])
        return count

    def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        return self.storage.changes.changes_after(seq, limit)

    def count(self) -> int:
        return self.storage.registry.count_clients()

    # --- the inspection API (records disconnected longer than the retention are hidden) -----------
    def visible_after(self) -> int:
        return self.clock.now_int() - self.disconnected_retention

    def search_clients(self, search: ClientSearch) -> Found:
        now = self.clock.now_int()
        return self.storage.registry.find_clients(
            search, visible_after=now - self.disconnected_retention, now=now
        )

    def client_detail(self, client_id: int, record: int | None = None) -> ClientDetail:
        """The connected record of ``client_id``, else its newest disconnected one (or the given ``record``
        of that id), with every visible record of the id."""
        now = self.clock.now_int()
        records = self.storage.registry.client_records(
            client_id, visible_after=now - self.disconnected_retention, now=now
        )
        if record is not None:
            chosen = [r for r in records if r.record == record]
            if not chosen:
                raise NotFoundError(
                    f"Client {client_id} has no record {record} (or it is past retention).",
                    details={"field": "record"},
                )
            if chosen[0] is not records[0]:
                detail = self.storage.registry.find_events(
                    LogSearch(record=record, descending=True), visible_after=self.visible_after()
                )
                chosen[0].client.events = [entry.event for entry in reversed(detail.items)]
            return ClientDetail(chosen[0], records)
        if not records:
            raise NotFoundError(
                f"No client has id {client_id} (connected, or disconnected within retention).",
                details={"field": "id"},
            )
        return ClientDetail(records[0], records)

    def events(self, search: LogSearch) -> Found:
        return self.storage.registry.find_events(search, visible_after=self.visible_after())

    def change_bounds(self) -> tuple[int | None, int]:
        return self.storage.changes.change_bounds()
