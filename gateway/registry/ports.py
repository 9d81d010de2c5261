"""What the registry needs from the world, as protocols the registry owns: a renderer of a client's XML
fragments, and storage that reads and writes rows (inside a unit of work for the write use cases).
gateway.xml implements the renderer, gateway.storage the rest; the registry imports neither."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from gateway.registry.inspection import ClientRecord, ClientSearch, Found, LogSearch
from gateway.registry.model import Appliance, Change, Client, ClientQuery, Event, NewChange


class Renderer(Protocol):
    def __call__(
        self, client: Client, *, brief: bool = True, events_of: bytes | None = None
    ) -> tuple[bytes | None, bytes]:
        """The client's fragment without and with ``include_connections`` (the first None when ``brief`` is
        False); ``events_of``: the stored fragment with connections, when only the events changed."""
        ...


class RegistryRows(Protocol):
    """Rows of the registry (appliances, clients, connections, events) inside one write transaction."""

    def hold_client_ids(self) -> None:
        """Lock the id counter: a connect that leaves its id to the store takes the same lock to pick one."""
        ...

    def is_connected(self, client_id: int) -> bool: ...

    def free_ids(self, count: int) -> list[int]:
        """``count`` ids no connected client holds (ids grow, as on the appliance)."""
        ...

    def load_connected(self, client_id: int, events: int) -> tuple[Client, bytes] | None:
        """The connected client, locked for this transaction, with its connections and its last ``events``
        events; and its stored fragment with connections. None when no connected client has the id."""
        ...

    def insert_clients(self, clients: Sequence[Client], fragments: Sequence[tuple[bytes, bytes]]) -> None:
        """Insert clients (ids given) with their connections and events (a connected id taken: a conflict)."""
        ...

    def replace_connections(self, client: Client) -> None: ...

    def add_events(self, client: Client, events: Sequence[Event]) -> None: ...

    def save_client(self, client: Client, brief: bytes, full: bytes) -> None:
        """Write every column of a loaded client."""
        ...

    def save_event_log(self, client: Client, full: bytes) -> None:
        """Write what appending events changes: the fragment with connections and the last activity."""
        ...

    def purge_disconnected(self, before: int) -> None: ...

    def lock_appliances(self) -> None:
        """Serialise creating appliances (two writers may name the same new GUID)."""
        ...

    def known_appliances(self, ids: Sequence[str]) -> set[str]: ...

    def next_appliance_position(self) -> int: ...

    def insert_appliances(self, appliances: Sequence[Appliance]) -> None: ...

    def clear(self) -> None:
        """Delete every appliance and client (connections and events with them)."""
        ...

    def load_population(
        self,
        appliances: Sequence[Appliance],
        clients: Sequence[Client],
        fragments: Sequence[tuple[bytes, bytes]],
        token: str | None,
    ) -> None:
        """Replace appliances and clients with a prepared population; ids continue after its largest. With
        a ``token`` naming the population loaded last, only the clients written since are replaced."""
        ...

    def continue_ids_after(self, top: int) -> None:
        """Clients connected without an id get ids after ``top`` (after a population loaded in batches)."""
        ...


class ChangeRows(Protocol):
    """The change log inside one write transaction (seq follows commit order)."""

    def append(self, changes: Sequence[NewChange], keep: int = 0) -> None:
        """Log changes; with ``keep``, drop all but the newest ``keep``."""
        ...

    def clear(self) -> None: ...


class AccountDrop(Protocol):
    def delete_all(self) -> None:
        """Delete every API account and token (workers forget every token they remember)."""
        ...


class SessionDrop(Protocol):
    def clear(self) -> None:
        """Delete every support session, chat message and session key (a new population has its own)."""
        ...


class RegistryUnit(Protocol):
    """One write transaction: committed when its block ends without error, else rolled back."""

    @property
    def registry(self) -> RegistryRows: ...

    @property
    def changes(self) -> ChangeRows: ...

    @property
    def accounts(self) -> AccountDrop: ...

    @property
    def sessions(self) -> SessionDrop: ...


class RegistryReads(Protocol):
    """Reads of the registry, each from one snapshot."""

    def iter_fragments(self, query: ClientQuery) -> Iterable[bytes]: ...

    def list_client_summaries(self, query: ClientQuery) -> list[tuple[int, str, str | None]]: ...

    def list_clients(self, query: ClientQuery, with_events: bool = False) -> list[Client]: ...

    def iter_clients(self, with_events: bool = False, batch: int = 500) -> Iterator[list[Client]]:
        """Every connected client, by id, in batches (one read transaction)."""
        ...

    def list_appliances(self) -> list[Appliance]: ...

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]: ...

    def count_clients(self, connected: bool = True) -> int: ...

    def find_clients(self, search: ClientSearch, *, visible_after: int, now: int) -> Found: ...

    def client_records(self, client_id: int, *, visible_after: int, now: int) -> list[ClientRecord]: ...

    def find_events(self, search: LogSearch, *, visible_after: int) -> Found: ...


class ChangeReads(Protocol):
    def changes_after(self, seq: int, limit: int = 1000) -> list[Change]: ...

    def change_bounds(self) -> tuple[int | None, int]: ...


class RegistryStorage(Protocol):
    @property
    def registry(self) -> RegistryReads: ...

    @property
    def changes(self) -> ChangeReads: ...

    def transaction(self) -> AbstractContextManager[RegistryUnit]: ...
