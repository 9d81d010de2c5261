"""Query-string schemas of the inspection API: every parameter is validated here, and every refusal is a
400 naming the parameter (unknown ones too; the names peer APIs use get a hint to ours).

Lists take commas or repeats (``type=a,b`` = ``type=a&type=b``); a scalar given twice is refused. Times
are UNIX seconds or ISO 8601 with an offset; windows are inclusive at both ends. Pages are ``page`` +
``page_size`` (1-100) or ``offset`` + ``count`` (1-100, or -1: all, up to GATEWAY_LIST_ALL_MAX), not both.
Answers show times as ``time_format`` asks (UNIX seconds by default).
"""

from __future__ import annotations

import math
from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate

from gateway.controls.clock import Instant
from gateway.registry.documents import TIME_FORMATS
from gateway.registry.inspection import (
    CLIENT_ORDERS,
    CLIENT_RANGES,
    DEFAULT_PAGE_SIZE,
    LOG_ORDERS,
    MAX_PAGE_SIZE,
    ClientSearch,
    LogSearch,
    Page,
)
from gateway.registry.model import CHANGE_KINDS, MAX_CLIENT_ID, ClientType
from gateway.registry.operations import EVENT_KINDS, INITIATORS
from gateway.registry.schemas import GUID_PATTERN, Text
from gateway.registry.validation import FullMatch

#: Largest list in one parameter (ids, types, ...).
MAX_LIST = 100
#: Record numbers are row keys: positive 63-bit integers.
MAX_RECORD = 2**63 - 1
MAX_PAGE = 10**7
MAX_OFFSET = 10**9
#: Bounds of the range filters (counts and seconds).
MAX_RANGE = 2**62
#: ``count`` that asks for every item (Mosquitto's convention), up to GATEWAY_LIST_ALL_MAX.
ALL = -1
#: Peer APIs' names for a status -> ours (IBM's connectivity states, seed 003's connection states).
STATUS_ALIASES = {"active": "connected", "closed": "disconnected"}
TYPES = tuple(ct.value for ct in ClientType)

#: Parameter names of peer APIs (Mosquitto, IBM, paginated connection listings) -> ours.
PEER_NAMES = {
    "pageSize": "page_size",
    "per_page": "page_size",
    "limit": "count",
    "orderBy": "order_by",
    "sort": "order_by",
    "status_filter": "status",
    "connectionStatus": "status",
    "clientid": "id",
    "clientId": "id",
    "startedAfter": "connected_after",
    "startedBefore": "connected_before",
    "lastConnectedAfter": "connected_after",
    "lastConnectedBefore": "connected_before",
    "endedAfter": "disconnected_after",
    "endedBefore": "disconnected_before",
    "lastDisconnectedAfter": "disconnected_after",
    "lastDisconnectedBefore": "disconnected_before",
    "lastActivityAfter": "last_activity_after",
    "lastActivityBefore": "last_activity_before",
    "closeReason": "disconnect_reason",
    "reasonCode": "disconnect_reason",
    "initiator": "disconnect_initiator",
    "lastEventId": "last_event_id",
    "Last-Event-ID": "last_event_id",
    "kinds": "kind",
    "types": "type",
}


class Listed(fields.List):
    """A list parameter: repeated (``a=1&a=2``) and/or comma-separated (``a=1,2``), each item loaded by
    ``item``; duplicates dropped, order kept. (A List, so that OpenAPI shows an exploded array.)"""

    def __init__(self, item: fields.Field, *, max_items: int = MAX_LIST, **kwargs: Any):
        super().__init__(item, validate=validate.Length(1, max_items), **kwargs)
        self.max_items = max_items

    # It loads a tuple, not a List's list: the domain's queries hold tuples (e.g. ClientQuery.ids).
    def _deserialize(self, value: Any, attr, data, **kwargs) -> tuple:  # type: ignore[override]
        raw = value if isinstance(value, list) else [value]
        items = [part.strip() for text in raw for part in str(text).split(",") if part.strip()]
        if not items:
            raise ValidationError("Give at least one value.")
        if len(items) > self.max_items:
            raise ValidationError(f"At most {self.max_items} values.")
        return tuple(dict.fromkeys(self.inner.deserialize(item) for item in items))


def Choices(values, **kwargs: Any) -> Listed:  # noqa: N802 - a field factory
    return Listed(fields.String(validate=validate.OneOf(values)), **kwargs)


def Bounded(minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:  # noqa: N802
    return fields.Integer(validate=validate.Range(minimum, maximum), **kwargs)


def TimeFormat() -> fields.String:  # noqa: N802
    return fields.String(
        validate=validate.OneOf(TIME_FORMATS),
        metadata={
            "description": "How the answer shows times: unix (seconds, the default), iso (ISO 8601, UTC) "
            "or epoch_ms (milliseconds)."
        },
    )


def Prefix(**kwargs: Any) -> fields.String:  # noqa: N802
    """1-255 characters XML can carry (stored strings are such; a NUL would not even reach PostgreSQL)."""
    return Text(255, min_length=1, **kwargs)


class QuerySchema(Schema):
    """Refuses unknown parameters (naming them, with our name for a peer API's one) and scalars given
    twice."""

    @pre_load
    def _flatten(self, data: Any, **_kwargs) -> dict:
        """A MultiDict (request.args) -> {name: first value, or every value for a list parameter}."""
        out = {}
        for key in data:
            values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
            field = self.fields.get(key)
            if field is None:
                hint = f" (this API calls it {PEER_NAMES[key]})" if key in PEER_NAMES else ""
                raise ValidationError({key: [f"Unknown parameter{hint}."]})
            if isinstance(field, Listed):
                out[key] = values
            elif len(set(values)) > 1:
                raise ValidationError({key: ["Given more than once with different values."]})
            else:
                out[key] = values[0]
        return out


class PagedSchema(QuerySchema):
    page = Bounded(1, MAX_PAGE, metadata={"description": "1-based page number (default 1)."})
    page_size = Bounded(
        1,
        MAX_PAGE_SIZE,
        metadata={"description": f"Items per page, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."},
    )
    offset = Bounded(0, MAX_OFFSET, metadata={"description": "Items to skip (instead of page)."})
    # Bounds checked in _page (0 is the one value in range it refuses); stated here for OpenAPI.
    count = fields.Integer(
        metadata={
            "description": f"Items to return, 1-{MAX_PAGE_SIZE}, or -1 for all (up to the gateway's "
            "GATEWAY_LIST_ALL_MAX, default 10000; pagination.has_next says whether more were left out). "
            "With offset, instead of page_size.",
            "minimum": ALL,
            "maximum": MAX_PAGE_SIZE,
        }
    )
    time_format = TimeFormat()
    order = fields.String(
        validate=validate.OneOf(("asc", "desc")),
        load_default="asc",
        metadata={"description": "Sort direction (default asc)."},
    )

    @post_load
    def _page(self, data: dict, **_kwargs) -> dict:
        by_page = "page" in data or "page_size" in data
        by_offset = "offset" in data or "count" in data
        if by_page and by_offset:
            name = "offset" if "offset" in data else "count"
            raise ValidationError({name: ["Use page and page_size, or offset and count, not both."]})
        data.pop("time_format", None)  # how the answer is shown, not what it holds: see time_format()
        if data.get("count") == ALL:
            data["count"] = current_app.config["LIST_ALL_MAX"]
        elif "count" in data and not 1 <= data["count"] <= MAX_PAGE_SIZE:
            raise ValidationError({"count": [f"Must be between 1 and {MAX_PAGE_SIZE}, or -1 for all."]})
        size = data.pop("page_size", None) or data.pop("count", None) or DEFAULT_PAGE_SIZE
        if "offset" in data:
            data["page"] = Page(data.pop("offset"), size)
        else:
            data["page"] = Page((data.pop("page", 1) - 1) * size, size)
        data["descending"] = data.pop("order") == "desc"
        return data


def time_format() -> str:
    """The request's ``time_format`` (its query schema validated it already)."""
    return request.args.get("time_format", "unix")


def _ranges() -> dict[str, fields.Integer]:
    """``min_NAME``/``max_NAME`` for each name in CLIENT_RANGES."""
    unit = {"duration": "seconds (to now while connected)"}
    out = {}
    for name in CLIENT_RANGES:
        what = f"{name} in {unit[name]}" if name in unit else name
        out[f"min_{name}"] = Bounded(0, MAX_RANGE, metadata={"description": f"At least this {what}."})
        out[f"max_{name}"] = Bounded(0, MAX_RANGE, metadata={"description": f"At most this {what}."})
    return out


def _start(value: float) -> int:
    return math.ceil(value)


def _end(value: float) -> int:
    return math.floor(value)


_TIME = "UNIX seconds or ISO 8601 with an offset; inclusive."


#: min_/max_ of every counter and of duration (generated: ten fields alike).
RangeFilters = type("RangeFilters", (QuerySchema,), _ranges())


class ClientsQuery(PagedSchema, RangeFilters):  # type: ignore[misc,valid-type]
    type = Choices(TYPES, metadata={"description": "Client types (comma-separated or repeated)."})
    status = fields.String(
        validate=validate.OneOf(("connected", "disconnected", *STATUS_ALIASES)),
        metadata={
            "description": "connected or disconnected (default: both); active and closed are accepted "
            "for them."
        },
    )
    id = Listed(Bounded(1, MAX_CLIENT_ID), metadata={"description": "Client ids (up to 100)."})
    record = Bounded(1, MAX_RECORD, metadata={"description": "One record (connection) by its number."})
    hostname = Prefix(metadata={"description": "Hostname prefix (case-insensitive)."})
    name = Prefix(
        metadata={"description": "Name prefix (customers, attendees, Jumpoints; case-insensitive)."}
    )
    username = Prefix(metadata={"description": "Representative username prefix (case-insensitive)."})
    platform = Prefix(metadata={"description": "Platform prefix (case-insensitive), e.g. Windows."})
    platform_id = Listed(Text(64, min_length=1), metadata={"description": "Platform ids (exact)."})
    appliance = fields.String(
        validate=FullMatch(GUID_PATTERN, error="Must be a GUID (8-4-4-4-12 hex digits)."),
        metadata={"description": "Appliance GUID any of the client's connections goes to."},
    )
    private_ip = Text(64, min_length=1, metadata={"description": "Private IP of any connection (exact)."})
    connected_after = Instant(metadata={"description": f"connected_since at or after; {_TIME}"})
    connected_before = Instant(metadata={"description": f"connected_since at or before; {_TIME}"})
    disconnected_after = Instant(metadata={"description": f"disconnected_at at or after; {_TIME}"})
    disconnected_before = Instant(metadata={"description": f"disconnected_at at or before; {_TIME}"})
    last_activity_after = Instant(metadata={"description": f"last_activity at or after; {_TIME}"})
    last_activity_before = Instant(metadata={"description": f"last_activity at or before; {_TIME}"})
    disconnect_reason = Text(255, metadata={"description": "Disconnect reason (exact)."})
    disconnect_initiator = Choices(
        INITIATORS, metadata={"description": "Who disconnected: client, server, network."}
    )
    order_by = fields.String(
        validate=validate.OneOf(CLIENT_ORDERS),
        load_default="id",
        metadata={"description": "Field to order by (default id)."},
    )

    @post_load
    def _search(self, data: dict, **_kwargs) -> ClientSearch:
        renames = {
            "type": "types",
            "id": "ids",
            "platform_id": "platform_ids",
            "disconnect_initiator": "disconnect_initiators",
        }
        args = {renames.get(k, k): v for k, v in data.items()}
        if "types" in args:
            args["types"] = frozenset(ClientType(v) for v in args["types"])
        if "status" in args:
            status = args.pop("status")
            args["connected"] = STATUS_ALIASES.get(status, status) == "connected"
        ranges = []
        for name in CLIENT_RANGES:
            low, high = args.pop(f"min_{name}", None), args.pop(f"max_{name}", None)
            if low is not None or high is not None:
                ranges.append((name, low, high))
        args["ranges"] = tuple(ranges)
        for name in list(args):
            if name.endswith("_after"):
                args[name] = _start(args[name])
            elif name.endswith("_before"):
                args[name] = _end(args[name])
        return ClientSearch(**args)


class DetailQuery(QuerySchema):
    time_format = TimeFormat()
    record = Bounded(
        1,
        MAX_RECORD,
        metadata={
            "description": "A specific record of this id (default: the connected one, else the most recent)."
        },
    )

    @post_load
    def _shown(self, data: dict, **_kwargs) -> dict:
        data.pop("time_format", None)  # see time_format()
        return data


class LogQuery(PagedSchema):
    """A client's log (``/clients/{id}/log``): its records' events."""

    record = Bounded(1, MAX_RECORD, metadata={"description": "Only this record's events."})
    kind = Choices(EVENT_KINDS, metadata={"description": "Event kinds (comma-separated or repeated)."})
    after = Instant(metadata={"description": f"Events at or after; {_TIME}"})
    before = Instant(metadata={"description": f"Events at or before; {_TIME}"})
    order_by = fields.String(
        validate=validate.OneOf(LOG_ORDERS),
        load_default="seq",
        metadata={"description": "seq (append order, default) or ts."},
    )

    @post_load
    def _search(self, data: dict, **_kwargs) -> LogSearch:
        args = {("kinds" if k == "kind" else k): v for k, v in data.items()}
        if "after" in args:
            args["after"] = _start(args["after"])
        if "before" in args:
            args["before"] = _end(args["before"])
        if "types" in args:
            args["types"] = frozenset(ClientType(v) for v in args["types"])
        return LogSearch(**args)


class ConnectionLogQuery(LogQuery):
    """The whole registry's log (``/connection-log``)."""

    type = Choices(TYPES, attribute="types", metadata={"description": "Client types."})
    id = Listed(
        Bounded(1, MAX_CLIENT_ID), attribute="ids", metadata={"description": "Client ids (up to 100)."}
    )


class EventsQuery(QuerySchema):
    """The live stream's filters and resume point."""

    kind = Choices(
        CHANGE_KINDS,
        metadata={"description": "Change kinds: connect, update, event, disconnect, reset, session."},
    )
    type = Choices(TYPES, metadata={"description": "Client types (a reset is sent whatever the types)."})
    id = Listed(
        Bounded(1, MAX_CLIENT_ID), metadata={"description": "Client ids (a reset is sent whatever the ids)."}
    )
    time_format = TimeFormat()
    last_event_id = Bounded(
        0,
        2**63 - 1,
        metadata={
            "description": "Resume after this event id (as the Last-Event-ID header, which wins); "
            "0 replays the retained log."
        },
    )
