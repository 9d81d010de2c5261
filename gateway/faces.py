"""The faces of the gateway, and what each decides about a request: the name its journal entries, log
lines and metrics carry (None: not an API face, so never journaled, faulted or rate limited), whether
its errors are JSON or XML, and whether it is the dashboard (security headers).

A routed request's face is its blueprint's (create_app registers every blueprint with its face, see
gateway.web). This module holds the only URL knowledge, for the two places that have no blueprint:
requests Flask could not route (404, 405) and the WSGI gate, which decides before Flask routes.
A test checks that every route's path gives its blueprint's face.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, eq=False)  # the faces below are the only ones: compared and hashed by identity
class Face:
    name: str | None
    json_errors: bool
    dashboard: bool = False


COMMAND = Face("command", json_errors=False)
OAUTH = Face("oauth", json_errors=True)
JSON = Face("json", json_errors=True)
ADMIN = Face("admin", json_errors=True)
#: The XSD, /check_health, and unknown URLs outside the JSON spaces: XML errors, as an appliance answers.
APPLIANCE = Face(None, json_errors=False)
#: Probes and metrics, and unknown URLs near the JSON faces: JSON errors.
PROBES = Face(None, json_errors=True)
UI = Face(None, json_errors=False, dashboard=True)

#: Faces whose calls are journaled and faulted; of them, the ones rate limited (the admin surface is neither).
JOURNALED = frozenset({COMMAND, OAUTH, JSON})
RATE_LIMITED = frozenset({COMMAND, JSON})

#: Paths served beside the gate in gateway/gate.py (a live stream holds a thread for minutes, a journal wait
#: for up to GATEWAY_JOURNAL_WAIT_MAX_SECONDS).
STREAM_PATHS = frozenset({"/api/v1/events", "/api/v1/admin/journal/wait"})
#: Paths served beside the gate, one at a time of their own, in gateway/gate.py: a capture import or a
#: fixture reset parses and renders for seconds (30,000 clients: ~25 s), and behind the gate every request
#: that reached the same worker waited for all of it.
LONG_PATHS = frozenset({"/api/v1/import/xml", "/api/v1/admin/reset"})


def of_path(path: str) -> Face:
    """The face of a URL that no route answered (or before routing): the URL space it falls in."""
    if path in ("/api/command", "/api/command.ns"):
        return COMMAND
    if path == "/oauth2/token":
        return OAUTH
    if path == "/api/v1/admin" or path.startswith("/api/v1/admin/"):
        return ADMIN
    if path == "/api/v1" or path.startswith("/api/v1/"):
        return JSON
    if path == "/ui" or path.startswith("/ui/"):
        return UI
    if path.startswith(("/oauth2/", "/api/v1", "/livez", "/healthz", "/readyz", "/metrics")):
        return PROBES
    return APPLIANCE
