"""HTTP reason phrases as common servers write them (nginx, Apache, gunicorn: ``401 Unauthorized``, ``404 Not
Found``), not werkzeug's upper case (``401 UNAUTHORIZED``), which surfaces in clients' error messages.

The phrases are the RFC 9110 / IANA ones Python's ``http.HTTPStatus`` knows, except where newer Pythons
renamed a phrase the servers still write (3.13: 413 "Content Too Large", 414 "URI Too Long", 422
"Unprocessable Content"): pinned here so the bytes do not depend on the interpreter.
"""

from __future__ import annotations

import http

#: Phrases that stay as the servers write them whatever the Python version.
PINNED = {
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
}


def reason(status: int) -> str:
    """The reason phrase of ``status`` ("Unknown Status" for a code no registry names, as werkzeug does)."""
    if status in PINNED:
        return PINNED[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def status_line(status: int) -> str:
    """``"404 Not Found"``: the status of a WSGI ``start_response`` or a werkzeug ``Response.status``."""
    return f"{status} {reason(status)}"
