"""The gunicorn worker the gateway runs in: gunicorn's threaded worker, with these differences.

- Requests gunicorn refuses itself (a malformed request line, header or chunk) are answered the way the
  gateway answers every error - XML on the command face, JSON elsewhere - instead of gunicorn's HTML page,
  which a legacy XML client cannot parse. gunicorn still decides the status and writes its log line.
- A client gets ``header_timeout`` seconds (GATEWAY_HEADER_TIMEOUT) from the moment its connection is
  accepted to send the request line and headers; a slower one is cut off (gunicorn reads
  headers on a pool thread with no time limit, so a hundred clients sending a header byte now and then
  held every thread of every worker). The body then has its own deadline (gateway/body.py).
- A connection waits for its first bytes on the worker's poller, not on a pool thread: an idle connection
  holds a file descriptor, never a thread, and is closed when its header time is up.
- One client address holds at most ``per_address`` connections at once in a worker
  (GATEWAY_MAX_CONNECTIONS_PER_ADDRESS). A new one over it takes the place of the address's least recently
  used idle kept-alive connection, which is closed (a browser keeps several); failing that, the new one is
  closed before anything is read from it. Closing, rather than answering 503, because the face of a request is
  known only from its request line, and reading that takes the wait (and, for a slow sender, the thread) that
  the limit is there to save; a refused client sees its connection closed and may retry, and the worker logs
  one warning per address now and then.
- A kept-alive connection carries at most ``keepalive_requests`` requests (GATEWAY_KEEPALIVE_REQUESTS); the
  last is answered with ``Connection: close``. A connection stays with the worker that accepted it, so two
  clients that kept theirs on one worker left the other idle; closing now and then lets the next connection
  go to whichever worker accepts first. With GATEWAY_CONNECTION_CLOSE every command answer closes.
- A kept-alive connection's next request is awaited on the thread that answered the last one, for
  ``NEXT_REQUEST_WAIT`` (2 ms): a client that sends it within that time is served at once, without the
  round trip through the main loop and the pool's queue (two thread hand-offs, a pipe, two poller
  registrations) that cost about a sixth of a small answer's CPU. A client that waits longer goes back
  to the poller as before. Such a wait counts as idle for the per-address cap: it can be evicted.
- A finished connection's graceful close (wait for the client's end of file, 2 s at most) happens on the
  poller; gunicorn waited on its main loop, so clients that kept their connection stalled the worker.
- What gunicorn works out on every request though its answer does not change is worked out once (its
  settings, the Date header of the current second, whether a peer address may set forwarding headers), and
  a small answer's headers and body leave in one write: see the section at the end.
- Secrets never reach a log line: gunicorn's warning for a malformed request quotes the request line, and a
  legacy client sends ``password=...`` in the query string. :class:`RedactSecrets` masks them in every
  record of gunicorn's loggers.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import itertools
import json
import logging
import re
import select
import selectors
import socket
import ssl
import threading
import time
from functools import partial
from typing import Any

from gunicorn import util as gunicorn_util  # type: ignore[import-untyped]  # no types
from gunicorn.http import message as gunicorn_message  # type: ignore[import-untyped]
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers.gthread import TConn, ThreadWorker  # type: ignore[import-untyped]
from werkzeug.exceptions import default_exceptions

from gateway import faces
from gateway.body import deadlines
from gateway.config import DEFAULTS
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


class _CountedConn(TConn):
    """A connection that gives its address's place back when it is closed (once, whichever path closes it),
    and whose graceful close lingers on the worker's poller instead of blocking the main loop."""

    def __init__(self, *args: Any, release: Any, linger: Any) -> None:
        super().__init__(*args)
        self._release = release
        self._linger = linger
        self.linger_until = 0.0
        self.served = 0  # requests read from it
        self.evicted = False  # closed to make room while idle off the poller (GatewayWorker._awaited)
        self.last_request = 0  # the worker's count of requests when its last one began (_evict_idle)

    def close(self, graceful: bool = False) -> None:
        linger, self._linger = self._linger, None
        if graceful and linger is not None:
            linger(self)  # closes it later, without grace
            return
        release, self._release = self._release, None
        if release is not None:
            release()
        super().close(False)


#: Seconds between two warnings about one address's refused connections.
_WARN_EVERY = 10.0
#: Seconds a closed connection waits for the client's end of file (gunicorn's close_graceful: 2 s).
_LINGER = 2.0
#: Seconds the thread that answered a kept-alive connection waits for its next request before handing it
#: back to the poller. A client in a loop sends it within microseconds; 2 ms held the most of the gain
#: (0.5 ms and 0 caught fewer on a loaded machine, 10 ms gained nothing more; docs/performance.md).
NEXT_REQUEST_WAIT = 0.002


class GatewayWorker(ThreadWorker):
    #: The Flask app (set by gunicorn.conf.py's post_worker_init, before it wraps the WSGI app).
    flask_app: Any = None
    #: Seconds a connection has, from the moment it is accepted, to send its request line and headers.
    header_timeout: float = 5.0
    #: Connections one client address may hold open at once in this worker.
    per_address: int = DEFAULTS["MAX_CONNECTIONS_PER_ADDRESS"]
    #: Requests one kept-alive connection may carry.
    keepalive_requests: int = DEFAULTS["KEEPALIVE_REQUESTS"]
    #: Whether every command answer closes its connection (GATEWAY_CONNECTION_CLOSE).
    close_commands: bool = DEFAULTS["CONNECTION_CLOSE"]

    def run(self):
        _settle(self.cfg)
        # post_worker_init has put the app in place: its settings are the gateway's (another WSGI app served
        # with these settings, as the benchmark's baseline, keeps the defaults).
        config = getattr(self.flask_app, "config", None) or {}
        self.per_address = int(config.get("MAX_CONNECTIONS_PER_ADDRESS", self.per_address))
        self.keepalive_requests = int(config.get("KEEPALIVE_REQUESTS", self.keepalive_requests))
        self.close_commands = bool(config.get("CONNECTION_CLOSE", self.close_commands))
        # Touched on the main thread only: accept() and TConn.close() (finish_request and the murder_*
        # sweeps run there), so no lock.
        self._open: collections.Counter[str] = collections.Counter()
        self._refused: dict[str, tuple[int, float]] = {}
        self._lingering: collections.deque[_CountedConn] = collections.deque()
        # Idle connections not on the poller: a pool thread awaits their next request (NEXT_REQUEST_WAIT), or
        # has given up and the main thread is yet to put them on the poller (finish_request). Oldest first;
        # the main thread may evict them (_evict_idle), so both sides take the lock.
        self._awaited: dict[_CountedConn, None] = {}
        self._awaited_lock = threading.Lock()
        self._requests = itertools.count(1)  # (next() on it is atomic: one C call under the GIL)
        return super().run()

    # gunicorn closes a finished connection "gracefully" on its main thread: it sends its FIN, then reads
    # until the client's end of file, for up to 2 s. A client that reads its answer and keeps the connection
    # open stopped the worker's loop (accepting, dispatching) for those 2 s, each time: three such clients
    # delayed a normal request by 2-4 s. Here the draining waits on the poller.

    def _linger_on(self, conn: _CountedConn) -> None:
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            conn.linger_until = time.monotonic() + _LINGER
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (OSError, ValueError, KeyError):
            conn.linger_until = 0.0
            conn.close()
            return
        self._lingering.append(conn)

    def _drain(self, conn: _CountedConn, _sock: Any) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except OSError:
            data = b""
        if not data:
            self._end_linger(conn)

    def _end_linger(self, conn: _CountedConn) -> None:
        if conn.linger_until:
            conn.linger_until = 0.0
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.poller.unregister(conn.sock)
            conn.close()

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        while self._lingering and (
            not self._lingering[0].linger_until or self._lingering[0].linger_until <= now
        ):
            self._end_linger(self._lingering.popleft())

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        address = _address_of(client_addr)
        if (
            address is not None
            and self.per_address
            and self._open[address] >= self.per_address
            and not self._evict_idle(address)
        ):
            self._refuse(client_sock, address)
            return
        if address is not None:
            self._open[address] += 1
        self.nr_conns += 1
        conn = _CountedConn(
            self.cfg,
            client_sock,
            client_addr,
            listener.getsockname(),
            release=partial(self._release, address) if address is not None else None,
            linger=self._linger_on,
        )
        # The header time counts from now, whoever reads the headers later.
        conn.header_deadline = time.monotonic() + self.header_timeout
        # Wait for the first bytes on the poller (gunicorn's own path for a connection that was slow to
        # send): an idle connection then holds no thread, and murder_pending closes it at its header time.
        conn.timeout = conn.header_deadline
        self.pending_conns.append(conn)
        self.poller.register(
            client_sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def _evict_idle(self, address: str) -> bool:
        """Close the address's least recently used connection that is kept alive, waiting for a next request,
        to make room for its new one (a browser keeps several; an idle kept connection costs the client
        nothing to open again). False when it has none: all of its connections are in a request or not yet
        sent one. (Least recently used by the order its last request began: the main loop puts connections
        whose wait ended together on the poller in no particular order, and on a loaded machine a thread
        may reach its wait after a later request's thread has reached its own.)"""
        with self._awaited_lock:
            idle = [
                conn
                for conn in (*self.keepalived_conns, *self._awaited)
                if _address_of(conn.client) == address
            ]
            if not idle:
                return False
            conn = min(idle, key=lambda conn: conn.last_request)
            if conn in self._awaited:  # not yet on the poller: its thread, or finish_request, ends it
                del self._awaited[conn]
                conn.evicted = True
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)  # wakes that thread's wait
                return True
        self.keepalived_conns.remove(conn)
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()
        return True

    def _release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def _refuse(self, sock: Any, address: str) -> None:
        with contextlib.suppress(OSError):
            sock.close()
        count, warned = self._refused.get(address, (0, 0.0))
        now = time.monotonic()
        if now - warned >= _WARN_EVERY:
            self.log.warning(
                "Refused %d connection(s) from %s: it holds %d, the most one address may hold in a worker "
                "(GATEWAY_MAX_CONNECTIONS_PER_ADDRESS)",
                count + 1,
                address,
                self.per_address,
            )
            self._refused[address] = (0, now)
        else:
            self._refused[address] = (count + 1, warned)
        if len(self._refused) > 4096:  # many addresses: forget the counts rather than grow
            self._refused.clear()

    def enqueue_req(self, conn):
        # A new connection's header time counts from its accept; a kept-alive one's from now. Either way a
        # client queued behind slow ones does not wait for all of them in turn.
        deadline = conn.__dict__.pop("header_deadline", None) or time.monotonic() + self.header_timeout
        deadlines.watch(conn.sock, deadline)
        super().enqueue_req(conn)

    def handle(self, conn):
        kept = self._handle_one(conn)
        while kept is True and self.alive and self._next_request_soon(conn):
            deadlines.watch(conn.sock, time.monotonic() + self.header_timeout)  # as enqueue_req does
            kept = self._handle_one(conn)
        return kept

    def _handle_one(self, conn):
        try:
            return super().handle(conn)
        finally:
            deadlines.forget(conn.sock)

    def _next_request_soon(self, conn: _CountedConn) -> bool:
        """Whether the connection's next request arrived, or arrives within NEXT_REQUEST_WAIT (on this
        thread: the caller serves it). If not, it stays listed as idle until finish_request puts it on the
        poller - or closes it, if it was evicted meanwhile."""
        sock = conn.sock
        if conn.parser.unreader.buf.getvalue() or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            return True  # already read (sent together with the last one)
        with self._awaited_lock:
            self._awaited[conn] = None
        ready = False
        try:
            ready = _readable_within(sock, NEXT_REQUEST_WAIT)
        finally:
            with self._awaited_lock:
                if ready and not conn.evicted:
                    del self._awaited[conn]  # served here
        return ready and not conn.evicted

    def finish_request(self, conn, fs):
        with self._awaited_lock:
            self._awaited.pop(conn, None)
            evicted = conn.evicted
        if evicted:  # while idle off the poller: its place went to a new connection of its address
            self.nr_conns -= 1
            conn.close()
            return
        super().finish_request(conn, fs)

    def handle_request(self, req, conn):
        # gunicorn drops an app's Connection header (hop-by-hop); a request marked must_close is answered
        # with "Connection: close" and its connection closed after the answer.
        conn.served += 1
        conn.last_request = next(self._requests)
        if conn.served >= self.keepalive_requests or (
            self.close_commands and faces.of_path(req.path) is faces.COMMAND
        ):
            req.must_close = True
        return super().handle_request(req, conn)

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


# --- what gunicorn works out on every request, worked out once ---------------------------------------------
# A small kept answer cost about 200 µs of CPU, a sixth of it in three things gunicorn redoes for each request
# though their answer does not change (docs/performance.md has the figures):
# - its settings are read through Config.__getattr__, which Python calls only after the normal attribute
#   lookup has failed, dozens of times a request; a worker's settings never change (a reload starts new
#   workers), so each is put where the normal lookup finds it (a property of Config still wins, as before);
# - the Date header is formatted anew, though it changes once a second;
# - whether the peer may set forwarding headers parses its address and matches it against the allowed
#   networks, though the answer is the same for every request from that address.
# And it sent an answer's headers in a write of their own, before the body: the first body bytes (up to
# ONE_WRITE) now go in the same write, a system call and a packet less for a small answer.


def _settle(cfg: Any) -> None:
    for name, setting in cfg.settings.items():
        cfg.__dict__.setdefault(name, setting.get())
    gunicorn_util.http_date = _http_date
    gunicorn_message._ip_in_allow_list = _ip_in_allow_list
    gunicorn_wsgi.Response.write = _write


#: The most body bytes sent in one write with the headers (they are copied once to join them).
ONE_WRITE = 65536
_gunicorn_write = gunicorn_wsgi.Response.write


def _write(self: Any, data: bytes) -> None:
    """gunicorn's Response.write, the headers sent with the first body bytes. Any other case - headers
    already sent, a chunked or bodiless answer, more than ONE_WRITE bytes or than the declared length - is
    gunicorn's own."""
    if (
        self.headers_sent
        or self.chunked
        or self._omits_body
        or type(data) is not bytes
        or not 0 < len(data) <= ONE_WRITE
        or (self.response_length is not None and len(data) > self.response_length)
    ):
        return _gunicorn_write(self, data)
    lines = self.default_headers()  # as gunicorn's send_headers makes them
    lines.extend([f"{name}: {value}\r\n" for name, value in self.headers])
    head = ("".join(lines) + "\r\n").encode("latin-1")
    self.headers_sent = True
    self.sent += len(data)
    self.sock.sendall(head + data)
    return None


_format_date = gunicorn_util.http_date
_date: tuple[int, str] = (0, "")


def _http_date(timestamp: float | None = None) -> str:
    """gunicorn's http_date, the current second's formatted once (the header has a resolution of seconds)."""
    global _date
    if timestamp is not None:
        return _format_date(timestamp)
    now = int(time.time())
    second, text = _date
    if second != now:
        text = _format_date(now)
        _date = (now, text)
    return text


_match_address = gunicorn_message._ip_in_allow_list
_matched: dict[tuple[str, tuple[str, ...]], bool] = {}


def _ip_in_allow_list(ip: str, allow_list: Any, networks: Any) -> bool:
    """gunicorn's check, remembered per address and allow list (its networks are made from it), for at
    most 1,024 of them."""
    key = (ip, tuple(allow_list))
    allowed = _matched.get(key)
    if allowed is None:
        allowed = _match_address(ip, allow_list, networks)
        if len(_matched) >= 1024:
            _matched.clear()
        _matched[key] = allowed
    return allowed


def _address_of(client: Any) -> str | None:
    """A connection's client address (None for a UNIX socket's peer)."""
    return client[0] if isinstance(client, tuple) and client else None


def _readable_within(sock: Any, timeout: float) -> bool:
    """Whether ``sock`` becomes readable within ``timeout`` seconds (or is closed or reset meanwhile): one
    poll(2) call, on a descriptor of any number."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    try:
        return bool(poller.poll(timeout * 1000))
    except (OSError, ValueError):
        return False


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
