"""The registry's domain: appliances, connected clients, their appliance connections and event logs.

Plain dataclasses, no Flask, no SQL. Field names follow the vendor's XML element names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

MAX_CLIENT_ID = 2_147_483_647
#: The XML face shows at most this many of a client's most recent events.
EVENT_LOG_LIMIT = 20


class ClientType(str, Enum):  # noqa: UP042 - a StrEnum's str() and f-strings give the value, not Class.NAME
    """The four client types of ``get_connected_clients``, in the vendor's documented order."""

    REPRESENTATIVE = "representative"
    SUPPORT_CUSTOMER = "support_customer"
    PRESENTATION_ATTENDEE = "presentation_attendee"
    PUSH_AGENT = "push_agent"

    @property
    def element(self) -> str:
        return f"connected_{self.value}"


CLIENT_TYPES: tuple[ClientType, ...] = tuple(ClientType)
#: Counted in get_connected_client_list summaries (type=all only); never listed as clients.
PINNED_CLIENT = "pinned_client"


@dataclass
class Appliance:
    id: str  # GUID
    name: str
    hostname: str
    public_hostname: str
    cluster_role: str = "single"  # single | primary | traffic
    failover_role: str = "none"  # none | primary | backup
    accepting_connections: bool = True
    timezone_offset: int = 0
    version: str = ""
    healthy: bool = True
    error_message: str | None = None
    enabled_shared_ips: list[str] = field(default_factory=list)
    last_data_sync_time: int | None = None
    last_data_sync_status: str | None = None
    pinned_clients: int = 0
    position: int = 0


@dataclass
class Connection:
    """One connection of a client to one appliance."""

    appliance_id: str
    purpose: str = "primary"  # primary | traffic
    receive_traffic_node: bool = False
    connected_since: int = 0
    private_ip: str = ""
    #: The UTC offset ``connected_since`` is written with (``-05:00``, ``Z``); None: ``+00:00``.
    connected_since_offset: str | None = None


@dataclass
class Event:
    ts: int
    text: str
    kind: str = "info"  # connect | disconnect | failure | info | update
    seq: int | None = None


@dataclass
class RepresentativeInfo:
    user_id: int
    type: str = "Normal"  # Normal | Invited
    username: str = ""
    public_display_name: str = ""
    private_display_name: str = ""
    start_session_url: str = ""
    presentation_count: int = 0
    support_session_count: int = 0
    showing_on_rep_list: bool = True
    routing_idle: bool = False
    routing_busy: bool = False
    routing_enabled: bool = True
    routing_available: bool = True
    support_license: str = "Standard"
    support_session_lsids: list[str] = field(default_factory=list)


@dataclass
class Client:
    """A client as the appliance reports it. ``id`` is unique among connected clients."""

    id: int
    type: ClientType
    hostname: str
    platform: str
    platform_id: str
    timezone_offset: int
    connected_since: int
    #: support_customer, presentation_attendee and push_agent: the entered or assigned name.
    name: str | None = None
    #: support_customer only.
    non_interactive: str | None = None  # rdp | shelljump | None
    lsid: str | None = None
    #: representative only.
    rep: RepresentativeInfo | None = None
    #: The UTC offset ``connected_since`` is written with (``-05:00``, ``Z``); None: ``+00:00``.
    connected_since_offset: str | None = None
    connections: list[Connection] = field(default_factory=list)
    #: Most recent events, oldest first; the store keeps the whole history.
    events: list[Event] = field(default_factory=list)
    connected: bool = True
    disconnected_at: int | None = None
    disconnect_reason: str | None = None
    disconnect_initiator: str | None = None
    #: Internal row key; ids may be reused after a disconnect, this never is.
    key: int | None = None

    @property
    def username(self) -> str | None:
        return self.rep.username if self.rep else None

    def primary_appliance_id(self) -> str | None:
        for conn in self.connections:
            if conn.purpose == "primary":
                return conn.appliance_id
        return self.connections[0].appliance_id if self.connections else None

    def recent_events(self) -> list[Event]:
        return self.events[-EVENT_LOG_LIMIT:]


#: What a change of the registry was (the ``changes`` log, read by live event streams).
CHANGE_KINDS = ("connect", "update", "event", "disconnect", "reset", "session")


@dataclass
class Change:
    """One accepted write, in commit order: ``seq`` only grows, also across resets."""

    seq: int
    ts: int
    kind: str  # one of CHANGE_KINDS
    client_id: int | None  # None for a reset
    payload: dict[str, Any]


class NewChange(NamedTuple):
    """A change to log: the log gives it its ``seq`` when the transaction writes it."""

    ts: int
    kind: str
    client_id: int | None
    payload: dict[str, Any]


#: Every client type, one shared set (queries selecting all types hold this one).
ALL_CLIENT_TYPES = frozenset(CLIENT_TYPES)


@dataclass(frozen=True, slots=True)
class ClientQuery:
    """What a get_connected_clients-style request selects."""

    types: frozenset[ClientType] = ALL_CLIENT_TYPES
    ids: tuple[int, ...] | None = None
    include_connections: bool = False

    @property
    def all_types(self) -> bool:
        """Whether every client type is selected (no type condition needed)."""
        return self.types >= ALL_CLIENT_TYPES
