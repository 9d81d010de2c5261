"""The WSGI layer of the controls: request ids, dropped and reset connections, truncated, dribbled and
malformed bodies, and the one place where a finished request is recorded (journal, metrics, log).

A request is recorded before its last chunk leaves, so a client that has read a whole response finds
it in the journal on its very next request, whichever worker answers (on SQLite the entry is written just
behind the answer, and journal reads wait for it: gateway/controls/journal.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable

from gateway.controls.logging import bind_request_id, request_id
from gateway.facts import ENVIRON_KEY, GATE_RELEASE, RequestFacts

_NOTHING = object()

#: finish(environ, the request's facts, status or None when dropped, seconds)
Finish = Callable[[dict, RequestFacts, "int | None", float], None]


class ConnectionDropped(ConnectionError):
    """An injected fault dropped the connection where there is no socket to close (the Flask test client)."""


class ConnectionReset(ConnectionDropped):
    """An injected fault reset the connection where there is no socket to reset (the Flask test client)."""


#: What a "garbage" malformed body says (neither XML nor JSON, whatever the content type claims).
GARBAGE = b"Service temporarily unavailable: upstream sent an unreadable reply\n"
#: A dribbled body goes out in this many pieces per second.
DRIBBLE_PIECES_PER_SECOND = 10


def _close(body) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def _socket(environ: dict):
    return environ.get("gunicorn.socket") or environ.get("werkzeug.socket")


def _hang_up(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _reset(sock) -> None:
    """Abort the connection with a TCP RST. The server still holds the socket object and will write its
    answer and close it: its descriptor is first pointed at a socket whose peer is gone (those writes fail
    with EPIPE, which gunicorn takes as a client gone), and the real connection, left with only our
    duplicate, is closed with SO_LINGER 0, which sends the RST."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection = os.dup(sock.fileno())
        dead, peer = socket.socketpair()
        peer.close()
        os.dup2(dead.fileno(), sock.fileno())
        dead.close()
        os.close(connection)


def _malformed(data: bytes, kind: str) -> bytes:
    if kind == "empty":
        return b""
    if kind == "garbage":
        return GARBAGE
    # cut inside the document: an element left open is never well-formed XML (nor complete JSON)
    return data[: max(1, len(data) // 2)] if data else b"<"


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
            release = environ.get(GATE_RELEASE)
            if release is not None and facts.transport_fault is None:
                # The answer is made: the journal's write need not hold the worker. (A faulted answer is
                # still to be sent as the fault says - a dribble holds the slot, as a slow upstream would.)
                release()
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
        if fault[0] in ("drop", "reset"):
            _close(body)
            finish(None)
            sock = _socket(environ)
            if sock is None:
                error = ConnectionReset if fault[0] == "reset" else ConnectionDropped
                raise error(
                    f"An injected fault {'reset' if fault[0] == 'reset' else 'dropped'} the connection."
                )
            (_reset if fault[0] == "reset" else _hang_up)(sock)
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return []
        return self._rewrite(environ, body, response, start_response, fault, finish)

    @staticmethod
    def _rewrite(environ, body, response, start_response, fault, finish) -> Iterable[bytes]:
        """The answer's bytes, changed by a fault: truncated (the whole length declared, part sent, then a
        hang-up), dribbled (every byte, slowly) or malformed (another body, its own length)."""
        kind, spec = fault
        try:
            data = b"".join(body)
        finally:
            _close(body)
        declared = data
        if kind == "malformed":
            data = declared = _malformed(data, spec["body"])
        headers = [
            (k, v) for k, v in response["headers"] if k.lower() not in ("content-length", "transfer-encoding")
        ]
        headers.append(("Content-Length", str(len(declared))))
        finish(int(response["status"].split(" ", 1)[0]))
        start_response(response["status"], headers)
        sock = _socket(environ)
        if kind == "malformed":
            return [data]
        if kind == "dribble":
            return _dribble(data, spec["bytes_per_second"])
        keep = spec["bytes"] if "bytes" in spec else int(len(data) * spec["fraction"])
        keep = min(keep, max(0, len(data) - 1))

        def send():
            yield data[:keep]
            if sock is not None:
                _hang_up(sock)

        return send()


def _dribble(data: bytes, bytes_per_second: int) -> Iterable[bytes]:
    """The body in pieces, at ``bytes_per_second`` (the fault's purpose is this wait: it holds the
    worker's request slot as a slow upstream would)."""
    piece = max(1, bytes_per_second // DRIBBLE_PIECES_PER_SECOND)
    pause = piece / bytes_per_second
    for start in range(0, len(data), piece):
        if start:
            time.sleep(pause)
        yield data[start : start + piece]
