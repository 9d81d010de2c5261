"""HTTP routes of the command face, where every action goes through the one dispatch table, and the
appliance's unauthenticated extras beside it (the XSD, /check_health)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context

from gateway.command import params as params_module
from gateway.command import versions
from gateway.command.dispatch import ACTIONS, READ, Action
from gateway.command.handlers import Context
from gateway.errors import (
    ParameterError,
    PermissionDeniedError,
    StorageUnavailableError,
    UnknownActionError,
    UnsupportedMediaTypeError,
)
from gateway.oauth.models import Account
from gateway.web import services
from gateway.xml import document, xsd
from gateway.xml.document import CONTENT_TYPE

#: The command face: /api/command and its legacy alias (its requests are named by their action parameter).
actions = Blueprint("actions", __name__)
#: The XSD and /check_health, which no API account calls (no journal, no faults). Named "command" because its
#: endpoint names label the metrics and log lines of these requests.
blueprint = Blueprint("command", __name__)

PERMITTED = {READ: ("read_only", "full_access"), "write": ("full_access",)}


def xml_response(body, status: int = 200) -> Response:
    """A whole body (bytes, or a tuple of chunks: sent with a Content-Length) or a stream."""
    if not isinstance(body, (bytes, str, tuple)):
        body = stream_with_context(body)
    return Response(body, status=status, content_type=CONTENT_TYPE)


@actions.after_app_request
def _connection_close(response: Response) -> Response:
    """The vendor tells clients to close after each call; optionally make the gateway insist."""
    if current_app.config["CONNECTION_CLOSE"]:
        response.headers["Connection"] = "close"
    return response


def request_parameters(req):
    """Query string and urlencoded body together; other body types are refused."""
    if req.method == "POST" and (req.content_length or req.headers.get("Transfer-Encoding")):
        mimetype = req.mimetype
        if mimetype != "application/x-www-form-urlencoded":
            raise UnsupportedMediaTypeError(
                "Send parameters in the query string or as an application/x-www-form-urlencoded body "
                f"(multipart and other bodies are not supported; got {mimetype or 'no content type'})."
            )
    return req.values


def resolve(values, account: Account, config) -> tuple[Action, Any]:
    """The action a request names and its loaded parameters, once the caller is known; raises the error to
    answer (an unknown action, a permission the account lacks, a bad parameter)."""
    name = values.get("action", "")
    action: Action | None = ACTIONS.get(name)
    if action is None or not versions.profile(config["API_VERSION"]).has_action(name):
        # an action newer than the emulated API version is unknown to it, as to an appliance of that version
        if not name:
            raise UnknownActionError("The required parameter 'action' is missing.")
        raise UnknownActionError(f"Unknown action {name[:60]!r}.")
    if account.permission not in PERMITTED[action.permission]:
        raise PermissionDeniedError(
            f"The API account {account.name!r} has {account.permission!r} command API permission; "
            f"{action.name} needs {' or '.join(PERMITTED[action.permission])}."
        )
    try:
        return action, params_module.load(action.schema, values)
    except ParameterError as error:
        raise error.within(action.root) from None


def document_key(action: Action, args: Any, config) -> Hashable:
    """A kept document's key: every setting the bytes depend on (one app's are fixed; being sure costs
    nothing)."""
    return (action.name, args, config["NAMESPACE_URI"], config["XML_LAYOUT"], config["API_VERSION"])


@actions.route("/api/command", methods=["GET", "POST"])
@actions.route("/api/command.ns", methods=["GET", "POST"])
def command():
    svc = services()
    values = request_parameters(request)
    account = svc.authenticate(values, "Authorization" in request.headers)
    config = current_app.config
    action, args = resolve(values, account, config)
    ctx = Context(
        registry=svc.registry, clock=svc.clock, account=account, config=config, sessions=svc.sessions
    )
    version = svc.versions.registry if action.cached and svc.documents.enabled else None
    with document.layout(config["XML_LAYOUT"]):
        if version is not None:
            # (a kept document of a GET is usually answered before Flask: gateway.command.fast)
            key = document_key(action, args, config)
            kept = svc.documents.get(version, key)
            if kept is not None:
                return xml_response(kept[0] if len(kept) == 1 else kept)
        try:
            result = action.handler(ctx, args)
        except ParameterError as error:  # bad input the domain found (an unknown lsid): as a parameter error
            raise error.within(action.root) from None
        body = action.serializer(result, config["NAMESPACE_URI"])
        if version is None:
            return xml_response(body)
        return xml_response(svc.documents.keep(version, key, body))


@blueprint.route("/api/command.xsd", methods=["GET"])
def command_xsd():
    return Response(xsd.schema_document(current_app.config["NAMESPACE_URI"]), content_type=CONTENT_TYPE)


@blueprint.route("/check_health", methods=["GET"])
def check_health():
    """Unauthenticated liveness as the appliance offers it: a short text, 500 when unhealthy."""
    svc = services()
    try:
        svc.store.ping()
        appliance = svc.registry.health_appliance(current_app.config["APPLIANCE_ID"])
    except StorageUnavailableError:  # expected during an outage, and a load balancer asks every few seconds
        current_app.logger.warning("check_health: the registry database is unavailable")
        return _unhealthy("the registry database is unavailable")
    except Exception:
        current_app.logger.exception("check_health failed")
        return _unhealthy("the registry database is unavailable")
    if not appliance.healthy:
        return _unhealthy(appliance.error_message or "the appliance reported a problem")
    return Response("OK\n", content_type="text/plain; charset=UTF-8")


def _unhealthy(reason: str) -> Response:
    return Response(f"unhealthy: {reason}\n", status=500, content_type="text/plain; charset=UTF-8")
