"""The feed: writes to the registry over JSON, every route ``@requires(FEED)``.

    POST   /api/v1/clients                   connect one client          -> 201 + the client
    PATCH  /api/v1/clients/<id>              change fields               -> 200 + the client
    POST   /api/v1/clients/<id>/events       append one or many events   -> 200 + the client
    POST   /api/v1/clients/<id>/disconnect   reason, initiator           -> 200 + the client
    POST   /api/v1/batch                     operations, all or nothing  -> 200 + one result each
    PUT    /api/v1/appliances/<guid>         create or replace one appliance
    POST   /api/v1/import/xml                a get_connected_clients capture (text/xml)

Each call is one transaction, durable before the response. Responses show a client with its last
20 events (what the XML face shows). Errors are JSON naming the field and change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import wraps

from flask import current_app, request

from gateway.api.auth import FEED, requires
from gateway.api.blueprint import Blueprint, described, errors
from gateway.errors import InvalidRequestError, UnsupportedMediaTypeError
from gateway.registry import documents
from gateway.registry.model import Appliance, Client
from gateway.registry.operations import AppendEvents, Connect, Disconnect, Update
from gateway.registry.schemas import (
    GUID_PATTERN,
    ApplianceSchema,
    BatchSchema,
    ClientSchema,
    DisconnectSchema,
    EventsSchema,
    update_schema,
)
from gateway.web import services

blueprint = Blueprint("feed", __name__, url_prefix="/api/v1", description="Writes to the registry.")

CLIENT_ID = "<int(min=1, max=2147483647):client_id>"
GUID = {"in": "path", "name": "guid", "schema": {"type": "string", "pattern": GUID_PATTERN}}


def _apply_one(op) -> Client:
    client = services().registry.apply([op])[0]
    return replace(client, events=client.recent_events())  # what the XML face shows


def large_body(view: Callable) -> Callable:
    """Batches and captures may exceed the global 1 MiB cap, up to GATEWAY_FEED_MAX_BODY (decorate above
    ``@blueprint.arguments``: the cap must be raised before the body is read)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        request.max_content_length = current_app.config["FEED_MAX_BODY"]
        return view(*args, **kwargs)

    return wrapper


@blueprint.route("/clients", methods=["POST"])
@requires(FEED)
@blueprint.arguments(ClientSchema)
@blueprint.response(201, documents.ClientOut)
@errors(409)
def connect(client: Client):
    """Connect a client"""
    client = _apply_one(Connect(client))
    return client, {"Location": f"/api/v1/clients/{client.id}"}


@blueprint.route(f"/clients/{CLIENT_ID}", methods=["PATCH"])
@requires(FEED)
@blueprint.arguments(update_schema())
@blueprint.response(200, documents.ClientOut)
@errors(404)
def update(changes: dict, client_id: int):
    """Change fields of a connected client"""
    return _apply_one(Update(client_id, changes))


@blueprint.route(f"/clients/{CLIENT_ID}/events", methods=["POST"])
@requires(FEED)
@blueprint.arguments(EventsSchema)
@blueprint.response(200, documents.ClientOut)
@errors(404)
def append_events(body: dict, client_id: int):
    """Append one event or many"""
    return _apply_one(AppendEvents(client_id, body["events"]))


@blueprint.route(f"/clients/{CLIENT_ID}/disconnect", methods=["POST"])
@requires(FEED)
@blueprint.arguments(DisconnectSchema, required=False)
@blueprint.response(200, documents.ClientOut)
@errors(404)
def disconnect(args: dict, client_id: int):
    """Disconnect a client"""
    return _apply_one(Disconnect(client_id, **args))


@blueprint.route("/batch", methods=["POST"])
@requires(FEED)
@large_body
@blueprint.arguments(BatchSchema)
@blueprint.response(200, documents.BatchResultOut)
@errors(404, 409)
def batch(body: dict):
    """Apply operations all or nothing"""
    ops = body["operations"]
    return list(zip(ops, services().registry.apply(ops, batch=True), strict=True))


@blueprint.route("/appliances/<guid>", methods=["PUT"], parameters=[GUID])
@requires(FEED)
@blueprint.arguments(ApplianceSchema(partial=("id",)))
@blueprint.response(200, ApplianceSchema)
@blueprint.alt_response(201, schema=ApplianceSchema, description="Created", success=True)
def put_appliance(appliance: Appliance, guid: str):
    """Create (201) or replace (200) an appliance"""
    if not re.fullmatch(GUID_PATTERN, guid) or appliance.id not in (None, guid):
        raise InvalidRequestError(
            "id: the path must hold the appliance's GUID (and the body the same id, if any).",
            details={"field": "id"},
        )
    appliance.id = guid
    created = services().registry.upsert_appliances([appliance])[0]
    return appliance, 201 if created else 200


@blueprint.route("/import/xml", methods=["POST"])
@requires(FEED)
@large_body
@described(requestBody={"required": True, "content": {"text/xml": {"schema": {"type": "string"}}}})
@blueprint.response(200, documents.ImportResultOut)
@errors(400, 409, 413, 415)
def import_xml():
    """Import a get_connected_clients capture"""
    from gateway.seeding.imports import import_capture

    if request.mimetype not in ("text/xml", "application/xml"):
        raise UnsupportedMediaTypeError("Send the capture with Content-Type: text/xml (or application/xml).")
    mode = request.args.get("mode", "replace")
    if mode not in ("replace", "merge"):
        raise InvalidRequestError("mode: must be replace or merge.", details={"field": "mode"})
    return import_capture(
        services().registry,
        request.get_data(),
        replace=mode == "replace",
        max_bytes=current_app.config["FEED_MAX_BODY"],
    )
