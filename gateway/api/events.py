"""``GET /api/v1/events``: the registry's change log as a Server-Sent Events stream (``@requires(READ)``).

Each accepted write of the registry is one event whose ``id`` is its change seq (so ids only grow,
in commit order, on every node) and whose ``event`` is its kind (connect, update, event, disconnect,
reset); ``data`` is one line of JSON. A stream resumes after ``Last-Event-ID`` (or ``last_event_id``);
without one it starts with the next change. It reads the shared ``changes`` table, so on PostgreSQL a
write through any node reaches streams on every node.

- ``retry:`` opens the stream; a heartbeat comment (``: keepalive``) follows every
  GATEWAY_STREAM_HEARTBEAT_SECONDS without events, carrying ``id:`` when filtered-out changes moved the
  resume point; the stream ends after GATEWAY_STREAM_MAX_SECONDS (the client reconnects with
  ``Last-Event-ID``) or when the worker shuts down.
- When changes the client has not seen are gone (the log keeps the newest GATEWAY_CHANGES_KEEP; a reset
  clears it), or its id is not from this log, a ``resync`` event says so: reload with ``GET /api/v1/clients``.
- ``time_format=iso|epoch_ms`` shows the events' times (and their payloads') as ISO 8601 or epoch ms.
- A stream holds a worker thread: each worker serves at most GATEWAY_STREAMS_PER_WORKER at once, of them
  at most GATEWAY_STREAMS_PER_ACCOUNT for one API account, and answers more with 503 + ``Retry-After``
  (see gunicorn.conf.py for the worker model). A stream whose client has gone ends (and gives its slot
  back) at its next poll of the change log, not at its next write.
"""

from __future__ import annotations

import re

from flask import Response, current_app, request

from gateway.api.auth import READ, authenticate, requires
from gateway.api.blueprint import Blueprint
from gateway.api.queries import EventsQuery
from gateway.api.streaming import MAX_EVENT_ID, Filters, Timing, peer_gone, stream
from gateway.errors import InvalidRequestError
from gateway.web import facts, services

blueprint = Blueprint("events", __name__, url_prefix="/api/v1", description="Live changes of the registry.")


def _resume_point(args: dict) -> int | None:
    header = request.headers.get("Last-Event-ID")
    if header is None or not header.strip():
        return args.get("last_event_id")
    text = header.strip()
    if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > MAX_EVENT_ID:
        raise InvalidRequestError(
            "Last-Event-ID: must be an event id this stream sent (a non-negative integer).",
            details={"field": "Last-Event-ID"},
        )
    return int(text)


@blueprint.route("/events", methods=["GET"])
@requires(READ)
@blueprint.arguments(EventsQuery, location="query")
@blueprint.response(200, "ServerSentEvent", content_type="text/event-stream")
def events(args: dict):
    """Live changes as server-sent events"""
    cursor = _resume_point(args)
    config = current_app.config
    svc = services()
    account = authenticate().client_id
    svc.streams.take_or_refuse(account, "event streams", max(1, config["STREAM_RETRY_MS"] // 1000))
    filters = Filters(args.get("kind"), args.get("type"), args.get("id"))
    timing = Timing(
        config["STREAM_MAX_SECONDS"],
        config["STREAM_HEARTBEAT_SECONDS"],
        config["STREAM_POLL_SECONDS"],
        config["STREAM_RETRY_MS"],
    )
    sock = request.environ.get("gunicorn.socket")
    response = Response(
        stream(
            svc.registry,
            cursor,
            filters,
            timing,
            args.get("time_format", "unix"),
            gone=lambda: peer_gone(sock),
        ),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(lambda: svc.streams.give(account))
    facts().streaming = True
    return response
