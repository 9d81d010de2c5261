"""The operator dashboard at /ui/: one HTML page and its static files (plain ES modules and CSS, no build).

The page holds no data: its scripts sign in at /oauth2/token, keep the access token in a variable, and
read the JSON inspection API, the live event stream (GET /api/v1/events, read with fetch() because
EventSource cannot send an Authorization header) and the command API's get_connected_client_list
summary. Every /ui response carries a Content-Security-Policy that allows only the gateway's own
scripts (no inline script, no event-handler attributes; Trusted Types required for DOM sinks, with one
policy that only parses the command API's XML), so stored strings can only ever render as text.
GATEWAY_UI_ENABLED=false removes the page (404).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_from_directory

from gateway.errors import NotFoundError
from gateway.web import face

#: Package data, found through importlib.resources (a regular install keeps them as files: Paths).
HERE = Path(str(files("gateway.ui")))
STATIC = Path(str(files("gateway.ui") / "static"))
PREFIX = "/ui"

#: What the page may load and do: its own files and API calls only; nothing inline, nothing framed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "require-trusted-types-for 'script'",
        "trusted-types command-xml",  # the one policy: api.js parses the command API's XML with it
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # Revalidate every time (the files change with the gateway, there is no build to version them).
    "Cache-Control": "no-cache",
}
#: The only files served, by suffix, with their types (not left to the machine's mime.types).
MIMETYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

blueprint = Blueprint("ui", __name__, url_prefix=PREFIX)


@blueprint.before_request
def _gate():
    if not current_app.config["UI_ENABLED"]:
        raise NotFoundError("The dashboard is disabled on this gateway (GATEWAY_UI_ENABLED=false).")


@blueprint.route("/", methods=["GET"])
def page():
    return send_from_directory(HERE, "index.html", mimetype="text/html")


@blueprint.route("/static/<path:name>", methods=["GET"])
def static(name: str):
    mimetype = MIMETYPES.get(Path(name).suffix)
    if mimetype is None:
        raise NotFoundError(f"No such resource: {request.path[:200]}")
    return send_from_directory(STATIC, name, mimetype=mimetype)


@blueprint.after_app_request
def _secure(response: Response) -> Response:
    """Every answer of the dashboard (errors too, even for URLs under /ui no route answers) carries the
    security headers."""
    if face().dashboard:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
    return response
