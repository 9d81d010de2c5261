"""Registry queries and writes for the faces (command API, JSON API, CLI). Plain Python, no Flask."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from gateway.clock import Clock
from gateway.errors import GatewayError, NotFoundError
from gateway.storage.interface import Describer, Renderer, Store
from gateway.registry.inspection import ClientDetail, ClientSearch, Found, LogSearch
from gateway.registry.model import CLIENT_TYPES, PINNED_CLIENT, Appliance, Change, Client, ClientQuery, ClientType
from gateway.registry.operations import Connect, Operation, at_operation, fill_defaults, prepare


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
    #: Names the content: a reset to the population loaded last keeps the clients nothing wrote since.
    token: str = ""


def _no_payload(kind: str, client: Client, detail: object) -> dict:
    return {}


class Registry:
    """``render`` gives a client's XML fragments, ``describe`` the JSON payload of a change-log entry
    (the app passes gateway.registry.documents.change)."""

    def __init__(self, store: Store, clock: Clock, render: Renderer, describe: Describer = _no_payload, *,
                 disconnected_retention: int = 86400, keep_changes: int = 100_000):
        self.store = store
        self.clock = clock
        self.render = render
        self.describe = describe
        self.disconnected_retention = disconnected_retention
        self.keep_changes = keep_changes

    # --- command API reads --------------------------------------------------------------------
    def fragments(self, query: ClientQuery) -> Iterator[bytes]:
        return self.store.iter_fragments(query)

    def client_list(self, query: ClientQuery, *, summary_only: bool, include_pinned: bool) -> ClientList:
        rows = self.store.list_client_summaries(query)
        appliances = self.store.list_appliances()
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
        for client in self.store.list_clients(ClientQuery(types=frozenset({ClientType.REPRESENTATIVE}))):
            current = reps.get(client.rep.user_id)
            if current is None or client.connected_since < current.connected_since:
                reps[client.rep.user_id] = client
        return [LoggedInRep(user_id, client) for user_id, client in sorted(reps.items())]

    def appliances(self) -> list[Appliance]:
        return self.store.list_appliances()

    def health_appliance(self, appliance_id: str = "", fallback_hostname: str = "localhost", version: str = "") -> Appliance:
        """The appliance that answers check_health: the configured one, else the first, else this gateway."""
        appliances = self.store.list_appliances()
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
        return self.store.replace_population(appliances, clients, self.render, now=self.clock.now_int())

    def apply(self, ops: Sequence[Operation], *, batch: bool = False) -> list[Client]:
        """Apply feed operations in one transaction (all or nothing), durable when this returns.

        Times left out are now; with ``batch`` an error names ``operations.N.field``.
        """
        now = self.clock.now_int()
        try:
            prepare(ops, now)
            return self.store.apply_writes(ops, self.render, self.describe, now=now,
                                           purge_before=now - self.disconnected_retention, keep_changes=self.keep_changes)
        except GatewayError as exc:
            if batch and getattr(exc, "operation", None) is not None:
                raise at_operation(exc, exc.operation) from None
            raise

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]:
        return self.store.upsert_appliances(appliances)

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
        fragments = [self.render(c) for c in clients]
        digest = hashlib.sha256(repr((appliances, clients)).encode())
        for brief, full in fragments:
            digest.update(full)
        return Population(list(appliances), list(clients), fragments, digest.hexdigest()[:32])

    def reset(self, population: Population, *, drop_accounts: bool = False, note: dict | None = None) -> None:
        """Replace the registry with a prepared population in one transaction (see Store.reset)."""
        self.store.reset(population.appliances, population.clients, population.fragments, token=population.token,
                         drop_accounts=drop_accounts, now=self.clock.now_int(), note=note or {})

    def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        return self.store.changes_after(seq, limit)

    def count(self) -> int:
        return self.store.count_clients()

    # --- the inspection API (records disconnected longer than the retention are hidden) -----------
    def visible_after(self) -> int:
        return self.clock.now_int() - self.disconnected_retention

    def search_clients(self, search: ClientSearch) -> Found:
        return self.store.find_clients(search, visible_after=self.visible_after())

    def client_detail(self, client_id: int, record: int | None = None) -> ClientDetail:
        """The connected record of ``client_id``, else its newest disconnected one (or the given ``record``
        of that id), with every visible record of the id."""
        records = self.store.client_records(client_id, visible_after=self.visible_after())
        if record is not None:
            chosen = [r for r in records if r.record == record]
            if not chosen:
                raise NotFoundError(f"Client {client_id} has no record {record} (or it is past retention).",
                                    details={"field": "record"})
            if chosen[0] is not records[0]:
                detail = self.store.find_events(LogSearch(record=record, descending=True),
                                                visible_after=self.visible_after())
                chosen[0].client.events = [entry.event for entry in reversed(detail.items)]
            return ClientDetail(chosen[0], records)
        if not records:
            raise NotFoundError(f"No client has id {client_id} (connected, or disconnected within retention).",
                                details={"field": "id"})
        return ClientDetail(records[0], records)

    def events(self, search: LogSearch) -> Found:
        return self.store.find_events(search, visible_after=self.visible_after())

    def change_bounds(self) -> tuple[int | None, int]:
        return self.store.change_bounds()
