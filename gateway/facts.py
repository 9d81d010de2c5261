"""What one request learns as it is answered, in one record: the request id, its face and action, the
caller, the journaled parameters, an injected fault, the rate-limit verdict. The Flask side reaches it on
``flask.g`` (gateway.web.facts); the WSGI middleware that records the finished request, outside the
request context, reaches the same object through the one environ key below."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.faces import Face

ENVIRON_KEY = "gateway.facts"
#: The environ key of a function that lets the worker's next ordinary request in (gateway/gate.py): the
#: middleware calls it once the answer is made, before it waits for the request's journal entry to be
#: written, so that wait (a commit, often shared with the next requests' entries) holds no request slot.
GATE_RELEASE = "gateway.gate.release"


@dataclass
class RequestFacts:
    request_id: str = ""
    #: Resolved once per request (gateway.web.face); None until then.
    face: Face | None = None
    #: The command action, "token", or the endpoint (bounded before it labels a metric).
    action: str | None = None
    #: The gateway time of the request, set once the controls are synced (API faces only).
    ts: float | None = None
    #: The client id of the calling API account, once known.
    account: str | None = None
    #: The request's parameters as journaled (secrets redacted).
    params: dict = field(default_factory=dict)
    #: The request's headers as journaled (secret-like ones redacted).
    headers: dict = field(default_factory=dict)
    #: The text of the error the answer carries (an XML <error>, 200s included; a JSON error's message).
    error: str | None = None
    #: The kind of injected fault that acted on the request (latency, error, drop, ...).
    fault: str | None = None
    #: ("drop", None) or ("truncate", {"fraction": f} | {"bytes": n}): the middleware acts on the answer.
    transport_fault: tuple[str, Any] | None = None
    #: The rate-limit verdict, whose headers the answer carries.
    rate_limit: Any = None
    #: The body is a live stream: recorded when it starts, its chunks pass at once.
    streaming: bool = False
    #: An outage met before Flask (gateway.command.fast): the hooks raise it, so Flask answers it in the
    #: face's words at once instead of meeting it again (a second connect timeout).
    unavailable: Exception | None = None


def of_environ(environ: dict) -> RequestFacts:
    """The request's record, made on first use (the middleware makes it; a bare request context may not)."""
    facts = environ.get(ENVIRON_KEY)
    if facts is None:
        facts = environ[ENVIRON_KEY] = RequestFacts()
    return facts
