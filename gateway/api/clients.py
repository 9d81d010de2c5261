"""The inspection API's reads, every route ``@requires(READ)`` (read_only or full_access, as get_* actions):

    GET /api/v1/clients                  client records: filters, order, pages  -> {"items", "pagination"}
    GET /api/v1/clients/<id>             one client in detail (?record=N: a specific record of the id)
    GET /api/v1/clients/<id>/log         the id's whole event history: time window, kinds, pages
    GET /api/v1/connection-log           every visible record's events: the same, plus type and id

The query strings are loaded by gateway.api.queries (400 naming the parameter); filtering, ordering,
paging and counting run in the store's SQL. Times are UNIX seconds, as everywhere in the JSON face.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint

from gateway.errors import NotFoundError
from gateway.registry.inspection import ClientSearch, LogSearch, Page
from gateway.services import services
from gateway.registry import documents
from gateway.api.auth import READ, requires
from gateway.api.input import query
from gateway.api.queries import ClientsQuery, ConnectionLogQuery, DetailQuery, LogQuery

blueprint = Blueprint("inspect", __name__, url_prefix="/api/v1")

CLIENT_ID = "<int(min=1, max=2147483647):client_id>"


@blueprint.route("/clients", methods=["GET"])
@requires(READ)
def list_clients():
    search = query(ClientsQuery())
    found = services().registry.search_clients(search)
    return documents.ClientPageOut().dump(documents.PageOf(found, search.page))


@blueprint.route(f"/clients/{CLIENT_ID}", methods=["GET"])
@requires(READ)
def get_client(client_id: int):
    args = query(DetailQuery())
    return documents.DetailOut().dump(services().registry.client_detail(client_id, args.get("record")))


def _log(search: LogSearch):
    found = services().registry.events(search)
    return documents.LogPageOut().dump(documents.PageOf(found, search.page))


@blueprint.route(f"/clients/{CLIENT_ID}/log", methods=["GET"])
@requires(READ)
def client_log(client_id: int):
    search = query(LogQuery())
    registry = services().registry
    # An id without a visible record is a 404, not an empty log.
    if not registry.search_clients(ClientSearch(ids=(client_id,), record=search.record, page=Page(0, 1))).total:
        raise NotFoundError(f"No client has id {client_id}" + (f" and record {search.record}" if search.record else "")
                            + " (connected, or disconnected within retention).", details={"field": "id"})
    return _log(replace(search, ids=(client_id,)))


@blueprint.route("/connection-log", methods=["GET"])
@requires(READ)
def connection_log():
    return _log(query(ConnectionLogQuery()))
