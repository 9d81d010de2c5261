"""The JSON face as one flask-smorest ``Api`` per app: it registers the face's blueprints, and the OpenAPI 3
document is generated from what their routes declare (``@blp.arguments``, ``@blp.response``, the errors
they document, ``@requires``). Served without a token at ``GET /api/v1/openapi.json`` (like the XSD of the
command face: it describes, it reveals nothing of the registry).

Errors are the app's (gateway.http_errors renders every one as ``{error, message, details}``): this Api
registers no error handler of its own, and its error responses are components holding the Error body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_smorest import Api, current_api  # type: ignore[import-untyped]  # no py.typed, no stubs
from marshmallow import Schema, fields

from gateway.api.admin import blueprint as admin
from gateway.api.blueprint import Blueprint, response_name
from gateway.api.clients import blueprint as inspect
from gateway.api.events import blueprint as events
from gateway.api.feed import blueprint as feed
from gateway.api.sessions import blueprint as sessions
from gateway.controls.clock import Instant
from gateway.registry.documents import ChangeEventOut, UnixTime
from gateway.registry.model import CHANGE_KINDS
from gateway.registry.schemas import (
    CLIENT_SCHEMAS,
    OPERATION_SCHEMAS,
    ClientField,
    ClientSchema,
    EventSchema,
    EventsSchema,
    OperationField,
)

OPENAPI_VERSION = "3.0.3"
TITLE = "connected-clients gateway: JSON API"
DESCRIPTION = (
    "The JSON face of the gateway: inspection (reads, live events), the feed (writes) and the "
    "emulator's admin surface. Times are UNIX seconds."
)
#: Component names of the request schemas that choose a schema by a member (client ``type``, batch ``op``).
CLIENT_COMPONENTS = {t: f"{t.title().replace('_', '')}Client" for t in CLIENT_SCHEMAS}
OPERATION_COMPONENTS = {op: f"{op.title()}Operation" for op in OPERATION_SCHEMAS}

#: One event of GET /api/v1/events (OpenAPI 3.0 describes each event of a text/event-stream answer).
SERVER_SENT_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": [*CHANGE_KINDS, "resync", "error"]},
        "id": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "The change seq: resume with Last-Event-ID.",
        },
        "data": {
            "type": "string",
            "description": "One line of JSON: a ChangeEvent; for resync {reason, last_event_id, "
            "resume_after, action}; for error {error, message}.",
        },
        "retry": {"type": "integer", "description": "Milliseconds before reconnecting."},
    },
}

#: The error answers operations document (each a response component with the Error body).
ERRORS = {
    400: "Invalid input; the message and details.field name the field",
    401: "No valid bearer token",
    403: "The account lacks the permission",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict (a connected id)",
    413: "The body is too large",
    415: "The body is not JSON (or XML)",
    429: "Rate limited",
    503: "The database is unavailable (Retry-After), or this worker serves its most event streams",
}


class ErrorOut(Schema):
    """The body of every error answer (gateway.http_errors writes it)."""

    error = fields.String(
        required=True, metadata={"description": "A short code, e.g. invalid_request, not_found."}
    )
    message = fields.String(
        required=True, metadata={"description": "What went wrong; a 400 starts with the field."}
    )
    details = fields.Dict(metadata={"description": 'e.g. {"field": "page_size"}: the offending field.'})


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def schema_name(schema) -> str:
    """Component names: the class name without Schema (and without Out where no request part has the name);
    faults' ErrorSchema is FaultError; a schema loaded with some fields optional (PUT appliance: the id) gets
    "Input"."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.lstrip("_")
    name = name.removesuffix("Schema")
    if name.removesuffix("Out") not in ("Connection", "Event", "Client", "Representative"):
        name = name.removesuffix("Out")  # answers named like a request's part keep "Out"
    if cls.__module__.endswith("controls.faults") and not name.startswith("Fault"):
        name = f"Fault{name}"
    if not isinstance(schema, type) and schema.partial and name != "Update":
        name = f"{name}Input"
    return name


def _instant(self, field, **_kwargs) -> dict:
    if isinstance(field, Instant):
        return {
            "oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
            "description": field.metadata.get("description", "UNIX seconds or ISO 8601 with an offset."),
        }
    return {}


def _time(self, field, ret: dict, **_kwargs) -> dict:
    """A time of an answer: UNIX seconds, or what the request's ``time_format`` asked for."""
    if isinstance(field, UnixTime):
        ret.pop("type", None)
        description = field.metadata.get("description", "UNIX seconds")
        return {
            "oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}],
            "description": f"{description} (as time_format asks: unix or epoch_ms integers, iso text).",
        }
    return {}


def _by_member(self, field, **_kwargs) -> dict:
    """Fields that load by a member's value (a client by ``type``, an operation by ``op``): one of their
    schemas."""
    if isinstance(field, ClientField):
        return {"oneOf": [_ref(name) for name in CLIENT_COMPONENTS.values()]}
    if isinstance(field, OperationField):
        return {"oneOf": [_ref(name) for name in OPERATION_COMPONENTS.values()]}
    return {}


class OperationIds(BasePlugin):
    """Each operation's id: its endpoint (``feed.connect`` -> ``feed_connect``), and its method where one
    endpoint serves several."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        endpoint = kwargs["rule"].endpoint.replace(".", "_")
        for method, operation in operations.items():
            operation.setdefault("operationId", endpoint + (f"_{method}" if len(operations) > 1 else ""))


def _with_member(spec: APISpec, name: str, member: str, value: str) -> None:
    """Pin the member a oneOf picks a schema by (``type`` of a client, ``op`` of an operation)."""
    schema = spec.components.schemas[name]
    schema["properties"][member] = {"type": "string", "enum": [value]}
    if member not in schema.setdefault("required", []):
        schema["required"].insert(0, member)


def _one_of(spec: APISpec, name: str, schema: type, alternatives: list[str], **more: Any) -> None:
    """``schema`` (it loads by a member, or takes several shapes) documented as one of ``alternatives``."""
    spec.components.schema(name, schema=schema)
    component = spec.components.schemas[name]
    component.clear()
    component.update({"oneOf": [_ref(a) for a in alternatives], **more})


class JsonApi(Api):
    """The face's Api. Its document is built on first request (an app is built in 60 ms less: the test suite
    builds thousands): the blueprints' routes are registered at once, their documentation then."""

    ERROR_SCHEMA = ErrorOut
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app: Flask):
        self._pending: list[Callable[[], None]] = []
        self._document: dict | None = None
        self._lock = threading.Lock()
        # The prefix keeps flask-smorest from reading the command face's API_VERSION as this document's.
        super().__init__(
            app,
            config_prefix="JSON_API",
            spec_kwargs={
                "title": TITLE,
                "version": "1",
                "openapi_version": OPENAPI_VERSION,
                "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
                "extra_plugins": [OperationIds()],
                "info": {"description": DESCRIPTION},
            },
        )
        # flask-smorest adds an "openapi" command group to the app's CLI; the gateway's keeps its own.
        app.cli.commands.pop("openapi", None)

    def _register_error_handlers(self) -> None:
        """None: gateway.http_errors renders every error of the app."""

    def _register_etag_headers(self) -> None:
        """None: the face sends no ETags."""

    def _register_pagination_header(self) -> None:
        """None: pages say where they lie in their body (``pagination``)."""

    def _register_responses(self) -> None:
        for status, text in ERRORS.items():
            self.spec.components.response(
                response_name(status),
                {"description": text, "content": {"application/json": {"schema": "Error"}}},
                lazy=True,
            )

    def defer(self, describe: Callable[[], None]) -> None:
        """Document a blueprint's views when the document is built (see Blueprint.register_views_in_doc)."""
        self._pending.append(describe)

    def document(self) -> dict:
        with self._lock:
            if self._document is None:  # every blueprint is registered when the app serves requests
                self._components()
                for describe in self._pending:
                    describe()
                self._document = self.spec.to_dict()
        return self._document

    def _components(self) -> None:
        """The components the views refer to (before them, so that their schemas resolve to these names)."""
        converter = self.ma_plugin.converter
        converter.add_attribute_function(_instant)
        converter.add_attribute_function(_by_member)
        converter.add_attribute_function(_time)
        spec = self.spec
        spec.components.security_scheme(
            "bearer",
            {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from POST /oauth2/token (client credentials).",
            },
        )
        spec.components.schema("Error", schema=ErrorOut)
        spec.components.schema("ChangeEvent", schema=ChangeEventOut)
        spec.components.schema("ServerSentEvent", SERVER_SENT_EVENT)
        spec.components.schema("Event", schema=EventSchema)
        for client_type, name in CLIENT_COMPONENTS.items():
            spec.components.schema(name, schema=type(CLIENT_SCHEMAS[client_type]))
            _with_member(spec, name, "type", client_type)
        mapping = {t: f"#/components/schemas/{n}" for t, n in CLIENT_COMPONENTS.items()}
        _one_of(
            spec,
            "Client",
            ClientSchema,
            list(CLIENT_COMPONENTS.values()),
            discriminator={"propertyName": "type", "mapping": mapping},
        )
        for op_name, name in OPERATION_COMPONENTS.items():
            spec.components.schema(name, schema=type(OPERATION_SCHEMAS[op_name]))
            _with_member(spec, name, "op", op_name)
        # The body of POST /clients/{id}/events: one event, or {"events": [...]} (EventsSchema loads both).
        spec.components.schema("Events", converter.schema2jsonschema(EventsSchema()))
        _one_of(
            spec,
            "EventsBody",
            EventsSchema,
            ["Event", "Events"],
            description='One event, or {"events": [...]} (1-1000).',
        )


blueprint = Blueprint("openapi", __name__, url_prefix="/api/v1", description="This document.")


@blueprint.route("/openapi.json", methods=["GET"])
@blueprint.response(200, {"type": "object"})
def document():
    """This document"""
    return current_api.document()


def init_app(app: Flask) -> JsonApi:
    """The JSON face on ``app``: every blueprint under /api/v1, documented."""
    api = JsonApi(app)
    for face_blueprint in (admin, feed, inspect, events, sessions, blueprint):
        api.register_blueprint(face_blueprint)
    return api
