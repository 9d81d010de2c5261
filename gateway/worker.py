"""The gunicorn worker the gateway runs in: gunicorn's threaded worker, with two differences.

- Requests gunicorn refuses itself (a malformed request line, header or chunk) are answered the way the
  gateway answers every error - XML on the command face, JSON elsewhere - instead of gunicorn's HTML page,
  which a legacy XML client cannot parse. gunicorn still decides the status and writes its log line.
- A client gets ``header_timeout`` seconds (GATEWAY_HEADER_TIMEOUT) from the moment its connection is
  queued for a thread to send the request line and headers; a slower one is cut off (gunicorn reads
  headers on a pool thread with no time limit, so a hundred clients sending a header byte now and then
  held every thread of every worker). The body then has its own deadline (gateway/body.py).
- Secrets never reach a log line: gunicorn's warning for a malformed request quotes the request line, and a
  legacy client sends ``password=...`` in the query string. :class:`RedactSecrets` masks them in every
  record of gunicorn's loggers.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]  # gunicorn ships no types
from werkzeug.exceptions import default_exceptions

from gateway.body import deadlines
from gateway.controls.journal import SECRET_PARAMETERS
from gateway.status import reason

_SECRET_PARAM = re.compile(rf"(?i)\b((?:{'|'.join(sorted(SECRET_PARAMETERS))})=)[^&\s'\"]*")
_SECRET_AUTH = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9+/=._~-]+")


def redact(text: str) -> str:
    """``text`` with the values of secret-named parameters and Authorization credentials masked."""
    return _SECRET_AUTH.sub(r"\1 [redacted]", _SECRET_PARAM.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message (its arguments are formatted first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _Written:
    """Stands in for the client socket while gunicorn writes its own error page: keeps the bytes."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, _flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    send = sendall


class GatewayWorker(ThreadWorker):
    #: The Flask app (set by gunicorn.conf.py's post_worker_init, before it wraps the WSGI app).
    flask_app: Any = None
    #: Seconds a connection has, from the moment it is queued for a thread, to send its request line and
    #: headers.
    header_timeout: float = 5.0

    def enqueue_req(self, conn):
        # The time counts from the moment the connection is queued for a thread: a client queued behind
        # slow ones must not wait for all of them in turn.
        deadlines.watch(conn.sock, time.monotonic() + self.header_timeout)
        super().enqueue_req(conn)

    def handle(self, conn):
        try:
            return super().handle(conn)
        finally:
            deadlines.forget(conn.sock)

    def handle_error(self, req, client, addr, exc):
        written = _Written()
        super().handle_error(req, written, addr, exc)
        status = _status_of(written.data)
        try:
            body = self._answer(req, status)
        except Exception:
            self.log.debug("error page not translated", exc_info=True)
            body = _plain_json(status)
        try:
            client.sendall(body)
        except OSError:
            self.log.debug("Failed to send error message.")

    def _answer(self, req: Any, status: int) -> bytes:
        """The gateway's own error response for ``status`` on the request's path, as raw HTTP."""
        from gateway import http_errors, web

        app = self.flask_app
        path = getattr(req, "path", None) or "/"
        method = getattr(req, "method", None) or "GET"
        exc_class = default_exceptions.get(status)
        if app is None or exc_class is None:
            raise LookupError(status)
        with app.test_request_context(path, method=method):
            response = web.no_sniffing(http_errors.render(http_errors.from_http(exc_class())))
        body = response.get_data()
        lines = [
            f"HTTP/1.1 {status} {reason(status)}",
            "Connection: close",
            f"Content-Length: {len(body)}",
        ]
        lines += [
            f"{name}: {value}"
            for name, value in response.headers.items()
            if name.lower() not in ("content-length", "connection")
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _status_of(page: bytes) -> int:
    """The status of the HTTP answer gunicorn wrote (400 if it wrote none)."""
    parts = page.split(b" ", 2)
    return int(parts[1]) if page.startswith(b"HTTP/") and len(parts) > 1 and parts[1].isdigit() else 400


def _plain_json(status: int) -> bytes:
    """A JSON error with gunicorn's status (when the app cannot render one)."""
    phrase = reason(status)
    body = json.dumps({"error": phrase.lower().replace(" ", "_"), "message": f"{phrase}."}).encode()
    head = f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    return (
        f"{head}X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n".encode("latin-1")
        + body
    )
