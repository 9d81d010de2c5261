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

from flask import Blueprint, current_app, request

from gateway.errors import InvalidRequestError, UnsupportedMediaTypeError
from gateway.registry.model import Client
from gateway.registry.operations import AppendEvents, Connect, Disconnect, Update
from gateway.services import services
from gateway.registry import documents
from gateway.api.auth import FEED, requires
from gateway.api.input import json_body
from gateway.registry.schemas import GUID_PATTERN, ApplianceSchema, BatchSchema, ClientSchema, DisconnectSchema, EventsSchema, update_schema

blueprint = Blueprint("feed", __name__, url_prefix="/api/v1")


def _client(client: Client, status: int = 200):
    body = documents.client_json(client, events=client.recent_events())
    headers = {"Location": f"/api/v1/clients/{client.id}"} if status == 201 else {}
    return body, status, headers


def _apply_one(op) -> Client:
    return services().registry.apply([op])[0]


def _allow_large_body() -> None:
    """Batches and captures may exceed the global 1 MiB cap, up to GATEWAY_FEED_MAX_BODY."""
    request.max_content_length = current_app.config["FEED_MAX_BODY"]


@blueprint.route("/clients", methods=["POST"])
@requires(FEED)
def connect():
    return _client(_apply_one(Connect(json_body(ClientSchema()))), 201)


@blueprint.route("/clients/<int(min=1, max=2147483647):client_id>", methods=["PATCH"])
@requires(FEED)
def update(client_id: int):
    return _client(_apply_one(Update(client_id, json_body(update_schema()))))


@blueprint.route("/clients/<int(min=1, max=2147483647):client_id>/events", methods=["POST"])
@requires(FEED)
def append_events(client_id: int):
    return _client(_apply_one(AppendEvents(client_id, json_body(EventsSchema())["events"])))


@blueprint.route("/clients/<int(min=1, max=2147483647):client_id>/disconnect", methods=["POST"])
@requires(FEED)
def disconnect(client_id: int):
    args = json_body(DisconnectSchema(), optional=True)
    return _client(_apply_one(Disconnect(client_id, **args)))


@blueprint.route("/batch", methods=["POST"])
@requires(FEED)
def batch():
    _allow_large_body()
    ops = json_body(BatchSchema())["operations"]
    results = services().registry.apply(ops, batch=True)
    return documents.BatchResultOut().dump(list(zip(ops, results)))


@blueprint.route("/appliances/<guid>", methods=["PUT"])
@requires(FEED)
def put_appliance(guid: str):
    appliance = json_body(ApplianceSchema(partial=("id",)))
    if not re.match(GUID_PATTERN, guid) or appliance.id not in (None, guid):
        raise InvalidRequestError("id: the path must hold the appliance's GUID (and the body the same id, if any).",
                                  details={"field": "id"})
    appliance.id = guid
    created = services().registry.upsert_appliances([appliance])[0]
    return documents.appliance_json(appliance), 201 if created else 200


@blueprint.route("/import/xml", methods=["POST"])
@requires(FEED)
def import_xml():
    from gateway.seeding.imports import import_capture

    _allow_large_body()
    if request.mimetype not in ("text/xml", "application/xml"):
        raise UnsupportedMediaTypeError("Send the capture with Content-Type: text/xml (or application/xml).")
    mode = request.args.get("mode", "replace")
    if mode not in ("replace", "merge"):
        raise InvalidRequestError("mode: must be replace or merge.", details={"field": "mode"})
    result = import_capture(services().registry, request.get_data(), replace=mode == "replace",
                            max_bytes=current_app.config["FEED_MAX_BODY"])
    return documents.ImportResultOut().dump(result)
