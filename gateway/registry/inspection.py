"""What the inspection API asks of the registry, as plain data: searches over client records and their
event logs, pages, and what comes back. No Flask, no SQL (the store turns these into queries).

A *record* is one connection of a client, from connect to disconnect. A client id is unique among
connected clients only: after a disconnect the id is free and a later connect may take it, so one id
can name one connected record and several disconnected ones. Every record has its own number
(``record``, the store's row key), never reused until a reset replaces the registry.
Disconnected records stay visible for GATEWAY_DISCONNECTED_RETENTION seconds after their disconnect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.registry.model import Client, ClientType, Event

#: Largest page of any list (clients, logs).
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

#: What client lists can be ordered by: times, counts (of the record's connections, of its whole event
#: history, a representative's support sessions and presentations; other types count 0) and duration.
CLIENT_ORDERS = (
    "id",
    "connected_since",
    "disconnected_at",
    "last_activity",
    "connection_count",
    "event_count",
    "support_session_count",
    "presentation_count",
    "duration",
)
#: What client lists can be bounded by (``min_NAME``/``max_NAME``, inclusive): every counter, and the
#: record's duration in seconds (until its disconnect, or until now while it is connected).
CLIENT_RANGES = (
    "connection_count",
    "event_count",
    "support_session_count",
    "presentation_count",
    "duration",
)
#: What event logs can be ordered by (``seq`` is the order events were appended in).
LOG_ORDERS = ("seq", "ts")


@dataclass(frozen=True)
class Page:
    """``limit`` rows after skipping ``offset``."""

    offset: int = 0
    limit: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class ClientSearch:
    """Filters (all optional, all must hold), an order and a page over client records.

    Prefixes are matched case-insensitively; times are UNIX seconds, windows inclusive at both ends.
    """

    types: frozenset[ClientType] | None = None
    connected: bool | None = None  # None: both
    ids: tuple[int, ...] | None = None
    record: int | None = None
    hostname: str | None = None  # prefix
    name: str | None = None  # prefix
    username: str | None = None  # prefix
    platform: str | None = None  # prefix
    platform_ids: tuple[str, ...] | None = None
    appliance: str | None = None  # any connection to this appliance
    private_ip: str | None = None  # any connection with this private IP
    connected_after: int | None = None
    connected_before: int | None = None
    disconnected_after: int | None = None
    disconnected_before: int | None = None
    last_activity_after: int | None = None
    last_activity_before: int | None = None
    disconnect_reason: str | None = None
    disconnect_initiators: tuple[str, ...] | None = None
    #: (name in CLIENT_RANGES, lowest or None, highest or None), both ends inclusive.
    ranges: tuple[tuple[str, int | None, int | None], ...] = ()
    order_by: str = "id"
    descending: bool = False
    page: Page = field(default_factory=Page)


@dataclass(frozen=True)
class LogSearch:
    """Events of visible client records: of the records of ``ids`` (or one ``record``), or of all."""

    ids: tuple[int, ...] | None = None
    record: int | None = None
    types: frozenset[ClientType] | None = None
    kinds: tuple[str, ...] | None = None
    after: int | None = None
    before: int | None = None
    order_by: str = "seq"
    descending: bool = False
    page: Page = field(default_factory=Page)


@dataclass
class ClientRecord:
    """A client record as the inspection API shows it: the client (connections loaded; events only
    in a detail view) with what the registry knows about it beyond the feed's fields."""

    client: Client
    last_activity: int
    event_count: int
    #: Seconds from its connect to its disconnect (to now while connected; never below 0).
    duration: int = 0

    @property
    def record(self) -> int:
        assert self.client.key is not None  # a stored record
        return self.client.key


def duration(connected_since: int, disconnected_at: int | None, now: int) -> int:
    """A record's duration, as the store computes it for filters and order (a clock set back gives 0)."""
    return max(0, (now if disconnected_at is None else disconnected_at) - connected_since)


@dataclass
class LogEntry:
    event: Event
    client_id: int
    record: int
    client_type: ClientType


@dataclass
class Found:
    """One page of results and how many there are in all (the same filters, counted)."""

    items: list[Any]
    total: int


@dataclass
class ClientDetail:
    """The record ``/clients/{id}`` shows (the connected one, else the newest) with its last events, and
    every visible record of the same id, newest first."""

    current: ClientRecord
    records: list[ClientRecord]
