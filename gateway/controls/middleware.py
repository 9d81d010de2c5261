"""The WSGI layer of the controls: request ids, dropped connections, truncated bodies, and the one
place where a finished request is recorded (journal, metrics, log).

A request is recorded before its last chunk leaves, so a client that has read a whole response finds
it in the journal on its very next request, whichever worker answers.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterable

from gateway.controls.logging import bind_request_id, request_id
from gateway.facts import ENVIRON_KEY, RequestFacts

_NOTHING = object()

#: finish(environ, the request's facts, status or None when dropped, seconds)
Finish = Callable[[dict, RequestFacts, "int | None", float], None]


class ConnectionDropped(ConnectionError):
    """An injected fault dropped the connection where there is no socket to close (the Flask test client)."""


def _close(body) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def _socket(environ: dict):
    return environ.get("gunicorn.socket") or environ.get("werkzeug.socket")


def _hang_up(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Recorded:
    """The response body, recorded once: before its last chunk, or when closed early."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[], None]):
        self.body = body
        self._finish = finish
        self.done = False

    def finish(self) -> None:
        if not self.done:
            self.done = True
            self._finish()

    def __iter__(self):
        previous = _NOTHING
        for chunk in self.body:
            if previous is not _NOTHING:
                yield previous
            previous = chunk
        self.finish()
        if previous is not _NOTHING:
            yield previous

    def close(self) -> None:
        try:
            self.finish()
        finally:
            _close(self.body)


class ControlsMiddleware:
    def __init__(self, app, finish: Finish):
        self.app = app
        self.finish = finish

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        # The Flask hooks and views fill it in (transport faults, streaming, what the record needs).
        facts = environ[ENVIRON_KEY] = RequestFacts(request_id(environ.get("HTTP_X_REQUEST_ID")))
        rid = facts.request_id
        bind_request_id(rid)  # gunicorn's lines about this request carry its id (gateway/controls/logging.py)
        response: dict = {}

        def start(status: str, headers: list, exc_info=None):
            headers = [*headers, ("X-Request-ID", rid)]
            response.update(status=status, headers=headers)
            if facts.transport_fault is not None:
                return lambda data: None  # answered below, or not at all
            return start_response(status, headers, exc_info)

        def finish(status: int | None = None) -> None:
            if status is None and "status" in response and facts.transport_fault is None:
                status = int(response["status"].split(" ", 1)[0])
            self.finish(environ, facts, status, time.perf_counter() - started)

        try:
            body = self.app(environ, start)
        except BaseException:
            finish(500)
            raise
        fault = facts.transport_fault
        if fault is None and facts.streaming:
            finish()  # a stream is long and its chunks must not wait for the next one: record it as it opens
            return body
        if fault is None:
            return _Recorded(body, finish)
        if fault[0] == "drop":
            _close(body)
            finish(None)
            sock = _socket(environ)
            if sock is None:
                raise ConnectionDropped("An injected fault dropped the connection without a response.")
            _hang_up(sock)
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return []
        return self._truncate(environ, body, response, start_response, fault[1], finish)

    @staticmethod
    def _truncate(environ, body, response, start_response, spec: dict, finish) -> Iterable[bytes]:
        """Declare the whole body's length, send only part of it, then hang up."""
        try:
            data = b"".join(body)
        finally:
            _close(body)
        keep = spec["bytes"] if "bytes" in spec else int(len(data) * spec["fraction"])
        keep = min(keep, max(0, len(data) - 1))
        headers = [
            (k, v) for k, v in response["headers"] if k.lower() not in ("content-length", "transfer-encoding")
        ]
        headers.append(("Content-Length", str(len(data))))
        finish(int(response["status"].split(" ", 1)[0]))
        start_response(response["status"], headers)
        sock = _socket(environ)

        def send():
            yield data[:keep]
            if sock is not None:
                _hang_up(sock)

        return send()
