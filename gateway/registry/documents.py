"""The JSON representation of clients, appliances, events and changes, declared once as ``Out`` schemas:
they dump the domain objects (feed and inspection answers, fixture files, the change log's payloads) and
the JSON face documents its answers with them. Flags are JSON booleans; times are UNIX seconds.

No Flask here: the domain writes change payloads with :func:`change`, seeding writes fixtures with
:func:`client_json` and :func:`appliance_json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from marshmallow import fields, missing, validate

from gateway.clock import iso8601
from gateway.registry.inspection import ClientDetail, ClientRecord, Found, LogEntry, Page
from gateway.registry.model import CHANGE_KINDS, Appliance, Change, Client, ClientType, Event
from gateway.registry.operations import (
    EVENT_KINDS,
    INITIATORS,
    AppendEvents,
    Connect,
    Disconnect,
    Operation,
    Update,
)
from gateway.registry.schemas import ApplianceSchema
from gateway.registry.shapes import Out

TYPES = [ct.value for ct in ClientType]

_F = TypeVar("_F", bound=fields.Field[Any])


def _nullable(field_class: Callable[..., _F], **kwargs: Any) -> _F:
    return field_class(allow_none=True, **kwargs)


class UnixTime(fields.Integer):
    """A time: UNIX seconds when dumped; the inspection API may show it otherwise (:func:`with_times`)."""


def Ts(**kwargs: Any) -> UnixTime:  # noqa: N802 - a field factory
    return UnixTime(metadata={"description": "UNIX seconds", **kwargs.pop("metadata", {})}, **kwargs)


#: How the inspection API may show times (``time_format``): UNIX seconds (the default), ISO 8601 in UTC,
#: or epoch milliseconds (the peer APIs' choices).
TIME_FORMATS = ("unix", "iso", "epoch_ms")
_TIME_CONVERSIONS: dict[str, Callable[[int], Any]] = {
    "unix": lambda ts: ts,
    "iso": iso8601,
    "epoch_ms": lambda ts: ts * 1000,
}


def _time_keys() -> frozenset[str]:
    """Keys of every UnixTime field of the schemas here (the same name is a time wherever it appears)."""
    found: set[str] = set()
    schemas = (
        RecordOut,
        DetailOut,
        RecordSummaryOut,
        LogEntryOut,
        ClientOut,
        ConnectionOut,
        EventOut,
        ChangeEventOut,
        DisconnectChangeOut,
    )
    for schema in schemas:
        found.update(
            field.data_key or name for name, field in schema().fields.items() if isinstance(field, UnixTime)
        )
    return frozenset(found)


def with_times(data: Any, time_format: str) -> Any:
    """A dumped document with its times shown in ``time_format`` (one of TIME_FORMATS); nulls stay null."""
    if time_format == "unix":
        return data
    convert, keys = _TIME_CONVERSIONS[time_format], TIME_KEYS

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (convert(v) if k in keys and isinstance(v, int) else walk(v)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(data)


def Type(**kwargs: Any) -> fields.Enum[ClientType]:  # noqa: N802
    return fields.Enum(ClientType, by_value=fields.String, **kwargs)


# --- clients ----------------------------------------------------------------------------------------
class ConnectionOut(Out):
    appliance_id = fields.String(required=True)
    purpose = fields.String(required=True, validate=validate.OneOf(("primary", "traffic")))
    receive_traffic_node = fields.Boolean(required=True)
    connected_since = Ts(required=True)
    private_ip = fields.String(required=True)
    connected_since_offset = fields.String(metadata={"description": "The UTC offset of its ISO 8601 text."})

    omit_empty = ("connected_since_offset",)  # +00:00 goes without saying


class EventOut(Out):
    ts = Ts(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    text = fields.String(required=True)
    seq = fields.Integer(metadata={"description": "Append order, unique in the registry."})

    omit_none = ("seq",)  # not stored yet


class RepresentativeOut(Out):
    user_id = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("Normal", "Invited")))
    username = fields.String(required=True)
    public_display_name = fields.String(required=True)
    private_display_name = fields.String(required=True)
    start_session_url = fields.String(required=True)
    presentation_count = fields.Integer(required=True)
    support_session_count = fields.Integer(required=True)
    showing_on_rep_list = fields.Boolean(required=True)
    routing_idle = fields.Boolean(required=True)
    routing_busy = fields.Boolean(required=True)
    routing_enabled = fields.Boolean(required=True)
    routing_available = fields.Boolean(required=True)
    support_license = fields.String(required=True)
    support_session_lsids = fields.List(fields.String(), required=True)


#: The registry's own fields of a client (left out where a client is shown as the feed takes it).
STATE = ("connected", "disconnected_at", "disconnect_reason", "disconnect_initiator")
DISCONNECT = STATE[1:]
#: Fields only some client types have.
BY_TYPE = {
    "representative": {ClientType.REPRESENTATIVE},
    "name": set(ClientType) - {ClientType.REPRESENTATIVE},
    "lsid": {ClientType.SUPPORT_CUSTOMER},
    "non_interactive": {ClientType.SUPPORT_CUSTOMER},
}


class ClientOut(Out):
    """A client as the feed answers it (its last 20 events)."""

    id = fields.Integer(required=True)
    type = Type(required=True)
    hostname = fields.String(required=True)
    platform = fields.String(required=True)
    platform_id = fields.String(required=True)
    timezone_offset = fields.Integer(required=True, metadata={"description": "Seconds east of UTC."})
    connected_since = Ts(required=True)
    connected_since_offset = fields.String()
    representative = fields.Nested(
        RepresentativeOut, attribute="rep", metadata={"description": "Representatives only."}
    )
    name = fields.String(metadata={"description": "Customers, attendees, Jumpoints."})
    lsid = fields.String(metadata={"description": "Support customers only."})
    non_interactive = _nullable(
        fields.String,
        validate=validate.OneOf(("rdp", "shelljump")),
        metadata={"description": "Support customers only."},
    )
    connections = fields.List(fields.Nested(ConnectionOut), required=True)
    events = fields.List(fields.Nested(EventOut), required=True)
    connected = fields.Boolean(required=True)
    disconnected_at = _nullable(Ts)
    disconnect_reason = _nullable(fields.String)
    disconnect_initiator = _nullable(fields.String, validate=validate.OneOf(INITIATORS))

    omit_empty = ("connected_since_offset",)
    #: Whether a connected client shows its (null) disconnect fields.
    disconnect_while_connected = False

    def client_of(self, obj: Any) -> Client:
        return cast(Client, obj)

    def shape(self, data: dict[str, Any], obj: Any) -> dict[str, Any]:
        client = self.client_of(obj)
        for name, types in BY_TYPE.items():
            if client.type not in types:
                data.pop(name, None)
        for name in ("name", "lsid"):
            if name in data:
                data[name] = data[name] or ""
        if client.connected and not self.disconnect_while_connected:
            for name in DISCONNECT:
                data.pop(name, None)
        return data


#: A client as the feed takes it (what a fixture file holds): no state, events without their seq.
CLIENT_AS_INPUT = ClientOut(exclude=(*STATE, "events.seq"))
CLIENT = ClientOut()


def client_json(client: Client, *, state: bool = True, events: list[Event] | None = None) -> dict[str, Any]:
    """A client as JSON. ``state`` adds the registry's own fields (connected, disconnect details);
    without it the dict is exactly what the feed accepts to connect the client again.
    ``events`` replaces the client's own list (e.g. only the recent ones)."""
    shown = client if events is None else replace(client, events=events)
    return cast(dict[str, Any], (CLIENT if state else CLIENT_AS_INPUT).dump(shown))


def appliance_json(appliance: Appliance) -> dict[str, Any]:
    """An appliance as the feed takes it (its position is its place in the list)."""
    return cast(dict[str, Any], APPLIANCE.dump(appliance))


#: The feed's own schema shows an appliance: the answer is what the request gives.
APPLIANCE = ApplianceSchema()


# --- the inspection API -----------------------------------------------------------------------------
class RecordOut(ClientOut):
    """A client record in a list: no events, but how many its history holds."""

    events = fields.List(fields.Nested(EventOut), metadata={"description": "Details only: the last 20."})
    record = fields.Integer(
        required=True, metadata={"description": "This record's number (one per connect)."}
    )
    last_activity = Ts(
        required=True, metadata={"description": "UNIX seconds of its last event (or its connect)."}
    )
    event_count = fields.Integer(required=True, metadata={"description": "Events in its whole history."})
    duration = fields.Integer(
        required=True,
        metadata={"description": "Seconds from its connect to its disconnect (to now while connected)."},
    )
    disconnected_at = _nullable(Ts, required=True)
    disconnect_reason = _nullable(fields.String, required=True)
    disconnect_initiator = _nullable(fields.String, required=True, validate=validate.OneOf(INITIATORS))

    disconnect_while_connected = True
    #: Fields of the record itself; the others are its client's.
    OWN = ("record", "last_activity", "event_count", "duration")

    def client_of(self, record: ClientRecord) -> Client:
        return record.client

    def get_attribute(self, record: ClientRecord, attr: str, default: Any) -> Any:
        if attr == "events":
            return missing  # details only
        return super().get_attribute(record if attr in self.OWN else record.client, attr, default)


class RecordSummaryOut(Out):
    record = fields.Integer(required=True)
    connected = fields.Boolean(required=True)
    connected_since = Ts(required=True)
    disconnected_at = _nullable(Ts, required=True)
    disconnect_reason = _nullable(fields.String, required=True)
    disconnect_initiator = _nullable(fields.String, required=True, validate=validate.OneOf(INITIATORS))
    last_activity = Ts(required=True)
    duration = fields.Integer(required=True, metadata={"description": "Seconds (to now while connected)."})

    def get_attribute(self, record: ClientRecord, attr: str, default: Any) -> Any:
        return super().get_attribute(record if attr in RecordOut.OWN else record.client, attr, default)


class DetailOut(RecordOut):
    """``/clients/{id}``: the chosen record with its last 20 events, when the id last connected and last
    disconnected (over all its visible records; null if never), and every record of the id, newest first."""

    events = fields.List(
        fields.Nested(EventOut), required=True, metadata={"description": "The last 20, oldest first."}
    )
    last_connected_at = Ts(required=True, metadata={"description": "The id's newest connect (any record)."})
    last_disconnected_at = _nullable(
        Ts, required=True, metadata={"description": "The id's newest disconnect; null if never."}
    )
    records = fields.List(
        fields.Nested(RecordSummaryOut),
        required=True,
        metadata={"description": "Every visible record of this id, connected first, then newest."},
    )

    # A DetailOut dumps ClientDetails (never records): it takes RecordOut's fields, not its input type.
    def client_of(self, detail: ClientDetail) -> Client:  # type: ignore[override]
        return detail.current.client

    def get_attribute(self, detail: ClientDetail, attr: str, default: Any) -> Any:  # type: ignore[override]
        if attr == "events":
            return detail.current.client.recent_events()
        if attr == "records":
            return detail.records
        if attr == "last_connected_at":
            return max(r.client.connected_since for r in detail.records)
        if attr == "last_disconnected_at":
            disconnects = [r.client.disconnected_at for r in detail.records]
            return max((at for at in disconnects if at is not None), default=None)
        return super().get_attribute(detail.current, attr, default)


EVENT_FIELDS = ("ts", "kind", "text", "seq")


class LogEntryOut(EventOut):
    seq = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    record = fields.Integer(required=True)
    type = Type(required=True, attribute="client_type")

    def get_attribute(self, entry: LogEntry, attr: str, default: Any) -> Any:
        return super().get_attribute(entry.event if attr in EVENT_FIELDS else entry, attr, default)


class PaginationOut(Out):
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Items matching the filters, in all."})
    has_next = fields.Boolean(required=True)
    has_prev = fields.Boolean(required=True)
    offset = fields.Integer(required=True)
    count = fields.Integer(required=True, metadata={"description": "Items on this page."})


@dataclass(frozen=True)
class PageOf:
    """``{"items", "pagination"}``: the items ``found`` at ``window``, and where the page lies in both styles
    (page/page_size and offset/count)."""

    found: Found
    window: Page

    @property
    def items(self) -> list[Any]:
        return self.found.items

    @property
    def pagination(self) -> PageOf:
        return self

    @property
    def page(self) -> int:
        return self.window.offset // self.window.limit + 1

    @property
    def page_size(self) -> int:
        return self.window.limit

    @property
    def pages(self) -> int:
        return -(-self.found.total // self.window.limit)

    @property
    def total(self) -> int:
        return self.found.total

    @property
    def has_next(self) -> bool:
        return self.window.offset + len(self.found.items) < self.found.total

    @property
    def has_prev(self) -> bool:
        return self.window.offset > 0

    @property
    def offset(self) -> int:
        return self.window.offset

    @property
    def count(self) -> int:
        return len(self.found.items)


class ClientPageOut(Out):
    items = fields.List(fields.Nested(RecordOut), required=True)
    pagination = fields.Nested(PaginationOut, required=True)


class LogPageOut(Out):
    items = fields.List(fields.Nested(LogEntryOut), required=True)
    pagination = fields.Nested(PaginationOut, required=True)


# --- the feed's other answers -------------------------------------------------------------------------
#: The name of each operation in a batch (as its ``op`` member).
OPERATION_NAMES = {Connect: "connect", Update: "update", AppendEvents: "events", Disconnect: "disconnect"}


class BatchItemOut(Out):
    """One operation's result; dumped from (operation, client)."""

    op = fields.String(required=True, validate=validate.OneOf(tuple(OPERATION_NAMES.values())))
    id = fields.Integer(required=True)
    connected = fields.Boolean(required=True)

    def get_attribute(self, result: tuple[Operation, Client], attr: str, default: Any) -> Any:
        operation, client = result
        return OPERATION_NAMES[type(operation)] if attr == "op" else getattr(client, attr)


class BatchResultOut(Out):
    results = fields.List(fields.Nested(BatchItemOut), required=True)

    def get_attribute(self, results: list[tuple[Operation, Client]], attr: str, default: Any) -> Any:
        return results  # dumped from the (operation, client) pairs themselves


class ImportResultOut(Out):
    mode = fields.String(required=True, validate=validate.OneOf(("replace", "merge")))
    namespace = fields.String(required=True)
    imported = fields.Integer(required=True, attribute="clients")
    appliances_created = fields.List(fields.String(), required=True)


# --- the change log -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """One write of the registry, as its change payload shows it."""

    kind: str
    client: Client
    detail: Any


class ClientChangeOut(Out):
    """connect and update: the client as the feed takes it (no events); for an update, the changed fields."""

    client = fields.Nested(CLIENT_AS_INPUT, required=True)
    changed = fields.List(
        fields.String(),
        data_key="fields",
        attribute="detail",
        metadata={"description": "update: the names of the fields it changed."},
    )

    def shape(self, data: dict[str, Any], write: Written) -> dict[str, Any]:
        if write.kind != "update":
            del data["fields"]
        return data


class EventsChangeOut(Out):
    """event: the events one write appended."""

    type = Type(required=True, attribute="client.type")
    events = fields.List(fields.Nested(EventOut), required=True, attribute="detail")


class DisconnectChangeOut(Out):
    type = Type(required=True)
    disconnected_at = Ts(required=True)
    reason = fields.String(required=True, attribute="disconnect_reason")
    initiator = fields.String(
        required=True, attribute="disconnect_initiator", validate=validate.OneOf(INITIATORS)
    )


CLIENT_CHANGE, EVENTS_CHANGE, DISCONNECT_CHANGE = ClientChangeOut(), EventsChangeOut(), DisconnectChangeOut()


def change(kind: str, client: Client, detail: object) -> dict[str, Any]:
    """The payload of a change-log entry (see Store.apply_writes): what a live stream shows of a write."""
    if kind == "event":
        payload = EVENTS_CHANGE.dump(Written(kind, client, detail))
    elif kind == "disconnect":
        payload = DISCONNECT_CHANGE.dump(client)
    else:
        payload = CLIENT_CHANGE.dump(Written(kind, replace(client, events=[]), detail))
    return cast(dict[str, Any], payload)


def change_type(change: Change) -> str | None:
    """The client type a change concerns (None for a reset)."""
    payload = change.payload
    return payload["client"]["type"] if "client" in payload else payload.get("type")


class ChangeEventOut(Out):
    """The ``data`` of one server-sent event (``event:`` is the kind, ``id:`` the seq)."""

    seq = fields.Integer(required=True)
    ts = Ts(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CHANGE_KINDS))
    client_id = _nullable(fields.Integer, required=True)
    type = _nullable(fields.String, required=True, validate=validate.OneOf(TYPES))
    payload = fields.Dict(
        required=True,
        metadata={
            "description": "connect/update: {client, fields}; event: {type, events}; "
            "disconnect: {type, disconnected_at, reason, initiator}; reset: what was loaded."
        },
    )

    def get_attribute(self, change: Change, attr: str, default: Any) -> Any:
        return change_type(change) if attr == "type" else super().get_attribute(change, attr, default)


#: Keys that hold times in the inspection API's answers.
TIME_KEYS = _time_keys()
