"""Marshmallow schemas of what the JSON face answers, for the OpenAPI document only (gateway.api.openapi).

The answers themselves are written by gateway.registry.documents and the admin modules; these schemas
describe them (a test validates real answers against the document, and schemathesis checks every answer
it provokes). Fields that only some client types have are optional; times are UNIX seconds.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.registry.model import CHANGE_KINDS, ClientType
from gateway.registry.operations import EVENT_KINDS, INITIATORS

TYPES = [ct.value for ct in ClientType]


def _nullable(field_class, **kwargs):
    return field_class(allow_none=True, **kwargs)


def Ts(**kwargs):  # noqa: N802 - a field factory
    return fields.Integer(metadata={"description": "UNIX seconds", **kwargs.pop("metadata", {})}, **kwargs)


class ErrorOut(Schema):
    error = fields.String(required=True, metadata={"description": "A short code, e.g. invalid_request, not_found."})
    message = fields.String(required=True, metadata={"description": "What went wrong; a 400 starts with the field."})
    details = fields.Dict(metadata={"description": "e.g. {\"field\": \"page_size\"}: the offending field."})


class ConnectionOut(Schema):
    appliance_id = fields.String(required=True)
    purpose = fields.String(required=True, validate=validate.OneOf(("primary", "traffic")))
    receive_traffic_node = fields.Boolean(required=True)
    connected_since = Ts(required=True)
    private_ip = fields.String(required=True)
    connected_since_offset = fields.String(metadata={"description": "The UTC offset of its ISO 8601 text."})


class EventOut(Schema):
    ts = Ts(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    text = fields.String(required=True)
    seq = fields.Integer(metadata={"description": "Append order, unique in the registry."})


class RepresentativeOut(Schema):
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


class ClientOut(Schema):
    """A client as the feed answers it (its last 20 events)."""

    id = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    hostname = fields.String(required=True)
    platform = fields.String(required=True)
    platform_id = fields.String(required=True)
    timezone_offset = fields.Integer(required=True, metadata={"description": "Seconds east of UTC."})
    connected_since = Ts(required=True)
    connected_since_offset = fields.String()
    representative = fields.Nested(RepresentativeOut, metadata={"description": "Representatives only."})
    name = fields.String(metadata={"description": "Customers, attendees, Jumpoints."})
    lsid = fields.String(metadata={"description": "Support customers only."})
    non_interactive = _nullable(fields.String, validate=validate.OneOf(("rdp", "shelljump")),
                                metadata={"description": "Support customers only."})
    connections = fields.List(fields.Nested(ConnectionOut), required=True)
    events = fields.List(fields.Nested(EventOut), required=True)
    connected = fields.Boolean(required=True)
    disconnected_at = _nullable(Ts)
    disconnect_reason = _nullable(fields.String)
    disconnect_initiator = _nullable(fields.String, validate=validate.OneOf(INITIATORS))


class RecordOut(ClientOut):
    """A client record in a list: no events, but how many its history holds."""

    events = fields.List(fields.Nested(EventOut), metadata={"description": "Details only: the last 20."})
    record = fields.Integer(required=True, metadata={"description": "This record's number (one per connect)."})
    last_activity = Ts(required=True, metadata={"description": "UNIX seconds of its last event (or its connect)."})
    event_count = fields.Integer(required=True, metadata={"description": "Events in its whole history."})
    disconnected_at = _nullable(Ts, required=True)
    disconnect_reason = _nullable(fields.String, required=True)
    disconnect_initiator = _nullable(fields.String, required=True, validate=validate.OneOf(INITIATORS))


class RecordSummaryOut(Schema):
    record = fields.Integer(required=True)
    connected = fields.Boolean(required=True)
    connected_since = Ts(required=True)
    disconnected_at = _nullable(Ts, required=True)
    disconnect_reason = _nullable(fields.String, required=True)
    disconnect_initiator = _nullable(fields.String, required=True, validate=validate.OneOf(INITIATORS))
    last_activity = Ts(required=True)


class DetailOut(RecordOut):
    events = fields.List(fields.Nested(EventOut), required=True, metadata={"description": "The last 20, oldest first."})
    last_connected_at = Ts(required=True, metadata={"description": "The id's newest connect (any record)."})
    last_disconnected_at = _nullable(Ts, required=True,
                                     metadata={"description": "The id's newest disconnect; null if never."})
    records = fields.List(fields.Nested(RecordSummaryOut), required=True,
                          metadata={"description": "Every visible record of this id, connected first, then newest."})


class PaginationOut(Schema):
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Items matching the filters, in all."})
    has_next = fields.Boolean(required=True)
    has_prev = fields.Boolean(required=True)
    offset = fields.Integer(required=True)
    count = fields.Integer(required=True, metadata={"description": "Items on this page."})


class ClientPageOut(Schema):
    items = fields.List(fields.Nested(RecordOut), required=True)
    pagination = fields.Nested(PaginationOut, required=True)


class LogEntryOut(EventOut):
    seq = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    record = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))


class LogPageOut(Schema):
    items = fields.List(fields.Nested(LogEntryOut), required=True)
    pagination = fields.Nested(PaginationOut, required=True)


class ChangeEventOut(Schema):
    """The ``data`` of one server-sent event (``event:`` is the kind, ``id:`` the seq)."""

    seq = fields.Integer(required=True)
    ts = Ts(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CHANGE_KINDS))
    client_id = _nullable(fields.Integer, required=True)
    type = _nullable(fields.String, required=True, validate=validate.OneOf(TYPES))
    payload = fields.Dict(required=True, metadata={
        "description": "connect/update: {client, fields}; event: {type, events}; disconnect: {type, disconnected_at, "
                       "reason, initiator}; reset: what was loaded."})


class BatchItemOut(Schema):
    op = fields.String(required=True, validate=validate.OneOf(("connect", "update", "events", "disconnect")))
    id = fields.Integer(required=True)
    connected = fields.Boolean(required=True)


class BatchResultOut(Schema):
    results = fields.List(fields.Nested(BatchItemOut), required=True)


class ImportResultOut(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(("replace", "merge")))
    namespace = fields.String(required=True)
    imported = fields.Integer(required=True)
    appliances_created = fields.Integer(required=True)
