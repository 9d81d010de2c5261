"""Marshmallow schemas of the feed: one per client type over a shared base, their appliance
connections and events, appliances, feed operations and batches, and fixture documents.

The feed API, fixture files, XML captures (once parsed) and the simulator all load through these,
so one set of rules decides what the registry accepts. Every string must be XML-safe and bounded,
every number bounded, every list capped; errors name the field (``connections.0.appliance_id``).
Loaded results are domain objects (:mod:`gateway.registry.model`, :mod:`gateway.registry.operations`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from gateway.registry.model import (
    MAX_CLIENT_ID,
    Appliance,
    Client,
    ClientType,
    Connection,
    Event,
    RepresentativeInfo,
)
from gateway.registry.operations import (
    EVENT_KINDS,
    INITIATORS,
    MAX_CONNECTIONS,
    AppendEvents,
    Connect,
    Disconnect,
    Operation,
    Update,
)
from gateway.registry.text import OFFSET_PATTERN, is_xml_safe
from gateway.registry.validation import FullMatch

#: 2000-01-01 .. 2099-12-31 in UNIX seconds: anything else is a mistake (milliseconds, zero).
MIN_TS, MAX_TS = 946_684_800, 4_102_444_799
#: Timezone offsets in seconds, -14h .. +14h.
MAX_TZ = 14 * 3600
#: Events in one operation (a connect's initial log, one append); the XML face shows the last 20.
MAX_EVENTS = 1000
MAX_LSIDS = 100
#: Operations in one batch.
MAX_BATCH = 1000
MAX_APPLIANCES = 1000
GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def xml_safe(value: str) -> None:
    """A validator: strings the registry stores are XML-safe (PostgreSQL refuses NUL besides)."""
    if not is_xml_safe(value):
        raise ValidationError(
            "Contains a character XML cannot carry (a control character, a surrogate, U+FFFE or U+FFFF)."
        )


class Text(fields.String):
    """An XML-safe string of at most ``max_length`` characters."""

    def __init__(self, max_length: int, *, min_length: int = 0, **kwargs: Any):
        super().__init__(validate=[validate.Length(min=min_length, max=max_length), xml_safe], **kwargs)


class Int(fields.Integer):
    """An integer in [minimum, maximum]; floats, strings and booleans are refused."""

    def __init__(self, minimum: int, maximum: int, **kwargs: Any):
        super().__init__(strict=True, validate=validate.Range(minimum, maximum), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def Flag(**kwargs: Any) -> fields.Boolean:  # noqa: N802 - a field factory, named like the fields it makes
    """A 1|0 flag of the XML face: JSON true/false or 1/0."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


def Ts(**kwargs: Any) -> Int:  # noqa: N802
    """UNIX seconds within MIN_TS..MAX_TS."""
    return Int(MIN_TS, MAX_TS, **kwargs)


def Choice(values: Iterable[str], **kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(validate=validate.OneOf(values), **kwargs)


def Offset(**kwargs: Any) -> fields.String:  # noqa: N802
    """The UTC offset an ISO 8601 time is written with: Z or ±HH:MM (null: +00:00)."""
    return fields.String(
        validate=FullMatch(f"^(?:{OFFSET_PATTERN})$", error="Must be Z or ±HH:MM."),
        load_default=None,
        allow_none=True,
        **kwargs,
    )


def Guid(**kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(
        validate=FullMatch(GUID_PATTERN, error="Must be a GUID (8-4-4-4-12 hex digits)."), **kwargs
    )


# ------------------------------------------------------------------------------------------------
# Clients
# ------------------------------------------------------------------------------------------------
class ConnectionSchema(Schema):
    appliance_id = Guid(required=True)
    purpose = Choice(("primary", "traffic"), load_default="primary")
    receive_traffic_node = Flag(load_default=False)
    connected_since = Ts(load_default=None)  # default: the client's connected_since
    connected_since_offset = Offset()
    private_ip = Text(64, load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Connection:
        return Connection(**data)


class EventSchema(Schema):
    ts = Ts(load_default=None)  # default: now
    kind = Choice(EVENT_KINDS, load_default="info")
    text = Text(1024, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Event:
        return Event(ts=data["ts"], text=data["text"], kind=data["kind"])


class RepresentativeInfoSchema(Schema):
    user_id = Int(1, MAX_CLIENT_ID, required=True)
    type = Choice(("Normal", "Invited"), load_default="Normal")
    username = Text(128, min_length=1, required=True)
    public_display_name = Text(255, load_default="")
    private_display_name = Text(255, load_default="")
    start_session_url = Text(2048, load_default="")
    presentation_count = Int(0, 1, load_default=0)
    #: Default: the number of support_session_lsids (the two must agree).
    support_session_count = Int(0, MAX_LSIDS, load_default=None)
    showing_on_rep_list = Flag(load_default=True)
    routing_idle = Flag(load_default=False)
    routing_busy = Flag(load_default=False)
    routing_enabled = Flag(load_default=True)
    routing_available = Flag(load_default=True)
    support_license = Text(64, load_default="Standard")
    support_session_lsids = fields.List(
        Text(64, min_length=1), load_default=list, validate=validate.Length(max=MAX_LSIDS)
    )


class _Common(Schema):
    """Fields of every client type (also what an update may change)."""

    hostname = Text(255, required=True)
    platform = Text(255, required=True)
    platform_id = Text(64, required=True)
    timezone_offset = Int(-MAX_TZ, MAX_TZ, load_default=0)
    connected_since = Ts(load_default=None)  # default: now
    connected_since_offset = Offset()
    connections = fields.List(
        fields.Nested(ConnectionSchema), load_default=list, validate=validate.Length(max=MAX_CONNECTIONS)
    )


class _Named(Schema):
    name = Text(255, required=True)


class _Customer(_Named):
    lsid = Text(64, min_length=1, required=True)
    non_interactive = Choice(("rdp", "shelljump"), load_default=None, allow_none=True)


class _ClientBase(_Common):
    id = Int(1, MAX_CLIENT_ID, load_default=0)  # 0: the registry assigns the next free id
    type = fields.String(required=True)
    events = fields.List(
        fields.Nested(EventSchema), load_default=list, validate=validate.Length(max=MAX_EVENTS)
    )

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Client:
        data["type"] = ClientType(data["type"])
        rep = data.pop("representative", None)
        if rep is not None:
            if rep["support_session_count"] is None:
                rep["support_session_count"] = len(rep["support_session_lsids"])
            data["rep"] = RepresentativeInfo(**rep)
        return Client(**data)


class RepresentativeSchema(_ClientBase):
    representative = fields.Nested(RepresentativeInfoSchema, required=True)


class SupportCustomerSchema(_ClientBase, _Customer):
    pass


class PresentationAttendeeSchema(_ClientBase, _Named):
    pass


class PushAgentSchema(_ClientBase, _Named):
    pass


#: One schema per client type, sharing _ClientBase.
CLIENT_SCHEMAS: dict[str, Schema] = {
    ClientType.REPRESENTATIVE.value: RepresentativeSchema(),
    ClientType.SUPPORT_CUSTOMER.value: SupportCustomerSchema(),
    ClientType.PRESENTATION_ATTENDEE.value: PresentationAttendeeSchema(),
    ClientType.PUSH_AGENT.value: PushAgentSchema(),
}


def _schema_of(value: Any, key: str, schemas: dict[str, Schema]) -> Schema:
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.")
    name = value.get(key)
    schema = schemas.get(name) if isinstance(name, str) else None
    if schema is None:
        raise ValidationError({key: [f"Must be one of: {', '.join(schemas)}."]})
    return schema


class ClientField(fields.Field[Client]):
    """A client of any type: loaded by the schema its ``type`` names."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Client:
        return cast(Client, _schema_of(value, "type", CLIENT_SCHEMAS).load(value))


class ClientSchema(Schema):
    """Loads one client of any type (the body of POST /api/v1/clients) by the schema its ``type`` names
    (the JSON face documents it as the oneOf of those schemas)."""

    def load(
        self, data: Any, *, many: bool | None = None, partial: Any = None, unknown: str | None = None
    ) -> Client:
        return cast(Client, ClientField().deserialize(data))


class UpdateSchema(_Common, _Customer):
    """The fields PATCH may change (any subset, at least one); ``representative`` merges field by field,
    ``connections`` replaces the whole list. Which fields fit which client type is checked against
    the client (gateway.registry.operations.apply_update)."""

    representative = fields.Nested(RepresentativeInfoSchema)
    # A connect may leave it out (it is then now); a client always has one, so null is no value to change to.
    connected_since = Ts()

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.")

    @post_load
    def _recount(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        rep = data.get("representative")
        if rep is not None and rep.get("support_session_count", 0) is None:
            del rep["support_session_count"]  # recounted from the lsids
        return data


#: Every field of an update is optional (also inside ``representative``), none gets a default.
UPDATE_PARTIAL = tuple(UpdateSchema().fields) + tuple(
    f"representative.{n}" for n in RepresentativeInfoSchema().fields
)


def update_schema() -> UpdateSchema:
    return UpdateSchema(partial=UPDATE_PARTIAL)


class EventsSchema(Schema):
    """One event or ``{"events": [...]}`` (1..MAX_EVENTS)."""

    events = fields.List(
        fields.Nested(EventSchema), required=True, validate=validate.Length(min=1, max=MAX_EVENTS)
    )

    @pre_load
    def _one(self, data: Any, **_kwargs: Any) -> Any:
        if (
            isinstance(data, dict)
            and "events" not in data
            and ("text" in data or "ts" in data or "kind" in data)
        ):
            return {"events": [data]}
        return data


class DisconnectSchema(Schema):
    reason = Text(255, load_default="")
    initiator = Choice(INITIATORS, load_default="client")
    ts = Ts(load_default=None)  # default: now


# ------------------------------------------------------------------------------------------------
# Batches
# ------------------------------------------------------------------------------------------------
class _Op(Schema):
    op = fields.String(required=True)


class _Targeted(_Op):
    id = Int(1, MAX_CLIENT_ID, required=True)


class ConnectOp(_Op):
    client = ClientField(required=True)

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Connect:
        return Connect(data["client"])


class UpdateOp(_Targeted):
    # The operation's key is "fields". marshmallow's SchemaMeta takes declared fields out of the class body,
    # so this does not hide Schema.fields (the instance's dict of fields).
    fields = fields.Nested(update_schema(), required=True)  # type: ignore[assignment]

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Update:
        return Update(data["id"], data["fields"])


class EventsOp(_Targeted):
    events = fields.List(
        fields.Nested(EventSchema), required=True, validate=validate.Length(min=1, max=MAX_EVENTS)
    )

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> AppendEvents:
        return AppendEvents(data["id"], data["events"])


class DisconnectOp(_Targeted, DisconnectSchema):
    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Disconnect:
        return Disconnect(data["id"], data["reason"], data["initiator"], data["ts"])


OPERATION_SCHEMAS: dict[str, Schema] = {
    "connect": ConnectOp(),
    "update": UpdateOp(),
    "events": EventsOp(),
    "disconnect": DisconnectOp(),
}


class OperationField(fields.Field[Operation]):
    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Operation:
        return cast(Operation, _schema_of(value, "op", OPERATION_SCHEMAS).load(value))


class BatchSchema(Schema):
    """``{"operations": [...]}``: 1..MAX_BATCH operations applied all or nothing."""

    operations = fields.List(OperationField(), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


# ------------------------------------------------------------------------------------------------
# Appliances and fixture documents
# ------------------------------------------------------------------------------------------------
class ApplianceSchema(Schema):
    id = Guid(required=True)
    name = Text(255, required=True)
    hostname = Text(255, required=True)
    public_hostname = Text(255, load_default=None)  # default: hostname
    cluster_role = Choice(("single", "primary", "traffic"), load_default="single")
    failover_role = Choice(("none", "primary", "backup"), load_default="none")
    accepting_connections = Flag(load_default=True)
    timezone_offset = Int(-MAX_TZ, MAX_TZ, load_default=0)
    version = Text(64, load_default="")  # left out or "": a PUT keeps the version the appliance had
    healthy = Flag(load_default=True)
    error_message = Text(1024, load_default=None, allow_none=True)
    enabled_shared_ips = fields.List(Text(64), load_default=list, validate=validate.Length(max=64))
    last_data_sync_time = Ts(load_default=None, allow_none=True)
    last_data_sync_status = Text(255, load_default=None, allow_none=True)
    pinned_clients = Int(0, 10_000_000, load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **_kwargs: Any) -> Appliance:
        data.setdefault("id", None)  # PUT /api/v1/appliances/<guid> takes it from the path
        if data["public_hostname"] is None:
            data["public_hostname"] = data["hostname"]
        return Appliance(**data)


class FixtureSchema(Schema):
    """A fixture file: appliances, then clients (see README, "Fixtures")."""

    version = Int(1, 1, load_default=1)
    appliances = fields.List(
        fields.Nested(ApplianceSchema), load_default=list, validate=validate.Length(max=MAX_APPLIANCES)
    )
    clients = fields.List(ClientField(), load_default=list)
