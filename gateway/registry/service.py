"""Registry queries and writes for the faces (command API, JSON API, CLI). Plain Python, no Flask."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..clock import Clock
from ..storage.interface import Store
from .model import CLIENT_TYPES, PINNED_CLIENT, Appliance, Client, ClientQuery, ClientType

Renderer = Callable[[Client], tuple[bytes, bytes]]


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


class Registry:
    def __init__(self, store: Store, clock: Clock, render: Renderer):
        self.store = store
        self.clock = clock
        self.render = render

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
        return self.store.replace_population(appliances, clients, self.render)

    def count(self) -> int:
        return self.store.count_clients()
