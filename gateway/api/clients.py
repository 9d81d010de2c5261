"""The inspection API's reads, every route ``@requires(READ)`` (read_only or full_access, as get_* actions):

    GET /api/v1/clients                  client records: filters, order, pages  -> {"items", "pagination"}
    GET /api/v1/clients/<id>             one client in detail (?record=N: a specific record of the id)
    GET /api/v1/clients/<id>/log         the id's whole event history: time window, kinds, pages
    GET /api/v1/connection-log           every visible record's events: the same, plus type and id
    GET /api/v1/account                  the calling API account: its name and permissions (any account)

The query strings are loaded by gateway.api.queries (400 naming the parameter); filtering, ordering,
paging and counting run in the store's SQL. Times are UNIX seconds, as everywhere in the JSON face,
unless the request asks for ISO 8601 or epoch milliseconds (``time_format``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import jsonify
from marshmallow import Schema, fields

from gateway.api.auth import ANY, READ, authenticate, requires
from gateway.api.blueprint import Blueprint, errors
from gateway.api.queries import ClientsQuery, ConnectionLogQuery, DetailQuery, LogQuery, time_format
from gateway.errors import NotFoundError
from gateway.registry import documents
from gateway.registry.inspection import ClientSearch, LogSearch, Page
from gateway.web import services

blueprint = Blueprint(
    "inspect",
    __name__,
    url_prefix="/api/v1",
    description="Reads: client records (connected or recently disconnected), logs; the calling account.",
)

CLIENT_ID = "<int(min=1, max=2147483647):client_id>"


def _shown(schema: Schema, answer: Any) -> Any:
    """The answer as the route's schema dumps it, its times as ``time_format`` asks."""
    chosen = time_format()
    if chosen == "unix":
        return answer  # flask-smorest dumps it
    return jsonify(documents.with_times(schema.dump(answer), chosen))


@blueprint.route("/clients", methods=["GET"])
@requires(READ)
@blueprint.arguments(ClientsQuery, location="query")
@blueprint.response(200, documents.ClientPageOut)
def list_clients(search: ClientSearch):
    """List client records (connected and, within retention, disconnected): filters, order, pages"""
    return _shown(
        documents.ClientPageOut(), documents.PageOf(services().registry.search_clients(search), search.page)
    )


@blueprint.route(f"/clients/{CLIENT_ID}", methods=["GET"])
@requires(READ)
@blueprint.arguments(DetailQuery, location="query")
@blueprint.response(200, documents.DetailOut)
@errors(404)
def get_client(args: dict, client_id: int):
    """One client in detail: its connected (else newest, or ?record=N) record, and all its records"""
    return _shown(documents.DetailOut(), services().registry.client_detail(client_id, args.get("record")))


def _log(search: LogSearch) -> documents.PageOf:
    return _shown(documents.LogPageOut(), documents.PageOf(services().registry.events(search), search.page))


@blueprint.route(f"/clients/{CLIENT_ID}/log", methods=["GET"])
@requires(READ)
@blueprint.arguments(LogQuery, location="query")
@blueprint.response(200, documents.LogPageOut)
@errors(404)
def client_log(search: LogSearch, client_id: int):
    """The id's whole event history"""
    registry = services().registry
    # An id without a visible record is a 404, not an empty log.
    if not registry.search_clients(
        ClientSearch(ids=(client_id,), record=search.record, page=Page(0, 1))
    ).total:
        raise NotFoundError(
            f"No client has id {client_id}"
            + (f" and record {search.record}" if search.record else "")
            + " (connected, or disconnected within retention).",
            details={"field": "id"},
        )
    return _log(replace(search, ids=(client_id,)))


@blueprint.route("/connection-log", methods=["GET"])
@requires(READ)
@blueprint.arguments(ConnectionLogQuery, location="query")
@blueprint.response(200, documents.LogPageOut)
def connection_log(search: LogSearch):
    """Every visible record's events"""
    return _log(search)


class CallingAccountOut(Schema):
    """Who the token belongs to (the dashboard shows the name), never a secret."""

    client_id = fields.String(required=True)
    name = fields.String(required=True)
    permission = fields.String(required=True, metadata={"description": "Command API: read_only, ..."})
    feed = fields.Boolean(required=True)
    admin = fields.Boolean(required=True)


@blueprint.route("/account", methods=["GET"])
@requires(ANY)
@blueprint.response(200, CallingAccountOut)
def account():
    """The calling API account"""
    return authenticate()
