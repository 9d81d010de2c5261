"""Support sessions and teams on the JSON face:

    GET  /api/v1/teams                 support teams (members, issues, queue)        READ
    GET  /api/v1/sessions              active sessions (stored, and those clients tell of)   READ
    GET  /api/v1/sessions/<lsid>       one active session with its chat              READ
    POST /api/v1/session-keys/redeem   a support customer connects with a session key     FEED

Session changes reach live streams as ``session`` events (gateway.registry.session_documents).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load

from gateway.api.auth import FEED, READ, requires
from gateway.api.blueprint import Blueprint, errors
from gateway.errors import InvalidRequestError, NotFoundError, ParameterError
from gateway.registry import documents
from gateway.registry import session_documents as docs
from gateway.registry.schemas import SupportCustomerSchema
from gateway.registry.shapes import Out
from gateway.web import services

blueprint = Blueprint(
    "sessions",
    __name__,
    url_prefix="/api/v1",
    description="Support sessions, session keys and support teams.",
)


class RedeemSchema(Schema):
    short_key = fields.String(required=True, metadata={"description": "From generate_session_key."})
    customer = fields.Nested(
        SupportCustomerSchema,
        required=True,
        metadata={
            "description": "The support customer (its lsid, if given, is replaced by the new session's)."
        },
    )

    @pre_load
    def _customer_defaults(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("customer"), dict):
            data = {**data, "customer": {"type": "support_customer", "lsid": "pending", **data["customer"]}}
        return data


class RedeemedOut(Out):
    client = fields.Nested(documents.ClientOut, required=True)
    session = fields.Nested(docs.SessionOut, required=True)


@blueprint.route("/teams", methods=["GET"])
@requires(READ)
@blueprint.response(200, docs.TeamListOut)
def list_teams():
    """Support teams with their members, issues and queue"""
    return {"items": services().sessions.teams()}


@blueprint.route("/sessions", methods=["GET"])
@requires(READ)
@blueprint.response(200, docs.SessionListOut)
def list_sessions():
    """Active support sessions"""
    return {"items": services().sessions.sessions()}


@blueprint.route("/sessions/<string(maxlength=64):lsid>", methods=["GET"])
@requires(READ)
@blueprint.response(200, docs.SessionOut)
@errors(404)
def get_session(lsid: str):
    """One active support session, with its chat"""
    try:
        return services().sessions.session(lsid)
    except ParameterError:
        raise NotFoundError(f"No active session has lsid {lsid!r}.", details={"field": "lsid"}) from None


@blueprint.route("/session-keys/redeem", methods=["POST"])
@requires(FEED)
@blueprint.arguments(RedeemSchema)
@blueprint.response(201, RedeemedOut)
@errors(400)
def redeem(args: dict):
    """A support customer connects with a session key: a new session in the key's queue"""
    try:
        client, session = services().sessions.redeem(args["short_key"], args["customer"])
    except ParameterError as exc:
        raise InvalidRequestError(exc.message, details={"field": "short_key"}) from None
    return {"client": client, "session": session}
