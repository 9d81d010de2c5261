"""One place that renders every error: the gateway's own, werkzeug's and unexpected ones.

The command face answers in XML (``<error>``, nested in a list action's root for parameter errors),
the OAuth and JSON faces in JSON (``{"error": code, "message": text}``). Never HTML, never a trace.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from gateway.errors import (
    GatewayError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTooLargeError,
    StorageUnavailableError,
)
from gateway.web import face, facts
from gateway.xml.document import CONTENT_TYPE, error_document, layout


def render(error: GatewayError) -> Response:
    facts().error = error.message  # the journal keeps it: a 200 with an <error> is no success
    if face().json_errors:
        payload: dict[str, Any] = {"error": error.code, "message": error.message}
        if error.details:
            payload["details"] = error.details
        response = Response(json.dumps(payload), status=error.status, mimetype="application/json")
    else:
        with layout(current_app.config["XML_LAYOUT"]):
            document = error_document(error.message, current_app.config["NAMESPACE_URI"], error.root)
        response = Response(document, status=error.status, content_type=CONTENT_TYPE)
    for name, value in error.headers.items():
        response.headers[name] = value
    if isinstance(error, StorageUnavailableError):
        response.headers.setdefault("Retry-After", "1")
    return response


def from_http(exc: HTTPException) -> GatewayError:
    if exc.code == 404:
        return NotFoundError(f"No such resource: {request.path[:200]}")
    if exc.code == 405:
        allowed = exc.valid_methods if hasattr(exc, "valid_methods") and exc.valid_methods else []
        not_allowed = MethodNotAllowedError(
            f"{request.method} is not allowed here; use {', '.join(allowed) or 'another method'}."
        )
        if allowed:
            not_allowed.headers["Allow"] = ", ".join(allowed)
        return not_allowed
    if exc.code == 413:
        return RequestTooLargeError("The request is too large.")
    message = exc.description if isinstance(exc.description, str) else exc.name
    error = GatewayError(f"{exc.name}: {message}", status=exc.code or 400)
    error.code = exc.name.lower().replace(" ", "_")
    return error


def init_app(app: Flask) -> None:
    @app.errorhandler(GatewayError)
    def _gateway(error: GatewayError):
        return render(error)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return render(from_http(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        incident = uuid.uuid4().hex[:12]
        app.logger.error("unexpected error, incident %s", incident, exc_info=exc)
        return render(InternalError(f"The gateway failed to answer (incident {incident}); see its log."))
