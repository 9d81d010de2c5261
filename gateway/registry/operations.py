"""Writes of the registry as plain data (connect, update, events, disconnect) and the rules every
client keeps, whichever way it arrives: the feed API, a batch, a fixture file, a capture, the simulator.

No Flask, no SQL: the registry applies these operations inside one transaction (see
``Registry.apply``); this module says what an operation means for a client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.errors import GatewayError, InvalidRequestError
from gateway.registry.model import Appliance, Client, ClientType, Event

#: Who ended a client's connection.
INITIATORS = ("client", "server", "network")
EVENT_KINDS = ("connect", "disconnect", "failure", "info", "update")
#: Most connections (appliances) one client may hold.
MAX_CONNECTIONS = 8

#: Fields that only some client types have (the others are common to all four).
TYPE_FIELDS: dict[str, frozenset[ClientType]] = {
    "name": frozenset({ClientType.SUPPORT_CUSTOMER, ClientType.PRESENTATION_ATTENDEE, ClientType.PUSH_AGENT}),
    "lsid": frozenset({ClientType.SUPPORT_CUSTOMER}),
    "non_interactive": frozenset({ClientType.SUPPORT_CUSTOMER}),
    "representative": frozenset({ClientType.REPRESENTATIVE}),
}


@dataclass
class Connect:
    """Connect a client; ``client.id`` 0 lets the registry assign the next free id."""

    client: Client


@dataclass
class Update:
    """Change fields of a connected client. ``fields`` holds loaded values: client attributes,
    ``representative`` (a dict of RepresentativeInfo attributes, merged) and ``connections``
    (a whole new list of Connection)."""

    id: int
    fields: dict[str, Any]


@dataclass
class AppendEvents:
    id: int
    events: list[Event]


@dataclass
class Disconnect:
    id: int
    reason: str = ""
    initiator: str = "client"
    ts: int | None = None


Operation = Connect | Update | AppendEvents | Disconnect


@dataclass
class Problem:
    field: str
    message: str


def fill_defaults(op: Operation, now: int) -> None:
    """Times a caller left out: a connect happens now, connections start with their client, events now."""
    if isinstance(op, Connect):
        client = op.client
        if client.connected_since is None:
            client.connected_since = now
        for conn in client.connections:
            if conn.connected_since is None:
                conn.connected_since = client.connected_since
        for event in client.events:
            if event.ts is None:
                event.ts = client.connected_since
    elif isinstance(op, AppendEvents):
        for event in op.events:
            if event.ts is None:
                event.ts = now
    elif isinstance(op, Disconnect) and op.ts is None:
        op.ts = now


def prepare(ops: Sequence[Operation], now: int) -> None:
    """Fill the times left out and check every client to connect; an error carries ``operation``
    (the index of the operation it is about), as the errors of applying them do."""
    for index, op in enumerate(ops):
        fill_defaults(op, now)
        if isinstance(op, Connect):
            try:
                check(op.client)
            except GatewayError as exc:
                raise exc.with_operation(index) from None


def problems(client: Client) -> list[Problem]:
    """What makes a client inconsistent (the feed, fixtures and imports refuse such a client)."""
    found: list[Problem] = []
    if client.type is ClientType.REPRESENTATIVE:
        if client.rep is None:
            return [Problem("representative", "A representative needs its representative fields.")]
        lsids = client.rep.support_session_lsids
        if len(set(lsids)) != len(lsids):
            found.append(Problem("representative.support_session_lsids", "An lsid is listed twice."))
        if client.rep.support_session_count != len(lsids):
            found.append(
                Problem(
                    "representative.support_session_count",
                    f"support_session_count is {client.rep.support_session_count} "
                    f"but {len(lsids)} lsids are listed.",
                )
            )
    elif client.type is ClientType.SUPPORT_CUSTOMER and not client.lsid:
        found.append(Problem("lsid", "A support customer needs the lsid of its session."))
    primaries = [i for i, c in enumerate(client.connections) if c.purpose == "primary"]
    if len(primaries) > 1:
        found.append(
            Problem(f"connections.{primaries[1]}.purpose", "A client has at most one primary connection.")
        )
    if len(client.connections) > MAX_CONNECTIONS:
        found.append(Problem("connections", f"A client holds at most {MAX_CONNECTIONS} connections."))
    return found


def check(client: Client) -> None:
    """Raise InvalidRequestError naming the first field that breaks a rule of :func:`problems`."""
    for problem in problems(client):
        raise InvalidRequestError(f"{problem.field}: {problem.message}", details={"field": problem.field})


def apply_update(client: Client, fields: dict[str, Any], now: int) -> list[str]:
    """Apply an :class:`Update`'s fields to ``client`` (loaded from the store); return the changed names.

    A new connection without ``connected_since`` keeps the time of the same connection before
    (same appliance and purpose), else starts now. Setting ``support_session_lsids`` without
    ``support_session_count`` recounts the sessions.
    """
    for name in fields:
        types = TYPE_FIELDS.get(name)
        if types is not None and client.type not in types:
            raise InvalidRequestError(
                f"{name}: a {client.type.value} has no {name}.", details={"field": name}
            )
    for name, value in fields.items():
        if name == "representative":
            assert client.rep is not None  # a representative (TYPE_FIELDS), which check() requires rep of
            for key, item in value.items():
                setattr(client.rep, key, item)
            if "support_session_lsids" in value and "support_session_count" not in value:
                client.rep.support_session_count = len(client.rep.support_session_lsids)
        elif name == "connections":
            before = {(c.appliance_id, c.purpose): c.connected_since for c in client.connections}
            for conn in value:
                if conn.connected_since is None:
                    conn.connected_since = before.get((conn.appliance_id, conn.purpose), now)
            client.connections = value
        else:
            setattr(client, name, value)
    check(client)
    return sorted(fields)


def disconnect_event(op: Disconnect) -> Event:
    """The event a disconnect appends to the client's log."""
    text = {
        "client": "Disconnected by the client",
        "server": "Disconnected by the server",
        "network": "Connection lost",
    }[op.initiator]
    assert op.ts is not None  # filled by fill_defaults
    return Event(op.ts, f"{text}: {op.reason}" if op.reason else text, "disconnect")


def at_operation(error: GatewayError, index: int) -> GatewayError:
    """The error, naming the failing operation of a batch in its field and message (a new error)."""
    named = error.with_operation(index)
    field_name = error.details.get("field")
    where = f"operations.{index}" + (f".{field_name}" if field_name else "")
    named.details = {**error.details, "field": where}
    named.message = f"operations[{index}]: {error.message}"
    return named


def placeholder_appliance(guid: str, position: int) -> Appliance:
    """An appliance the registry learns of only from a client's connection (a capture, the feed)."""
    short = guid[:8].lower()
    return Appliance(
        id=guid,
        name=f"appliance-{short}",
        hostname=f"{short}.appliance.invalid",
        public_hostname=f"{short}.appliance.invalid",
        position=position,
    )
