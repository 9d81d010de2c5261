"""Request bodies read whole, with a deadline and a size cap, before a request reaches the app.

gunicorn hands the app a body that is read from the socket as the app reads it. A client that sends its
headers and then dribbles (or never sends) its body would hold whatever the app holds while it reads - the
worker's request gate among them - so a few slow clients stopped the whole command API. Here the body is
read first, under a deadline, into a buffer that spills to a temporary file past 1 MiB (memory stays
bounded whatever the cap); the app then reads it from the buffer with a known Content-Length.

Chunked bodies get the same cap as bodies with a Content-Length: werkzeug otherwise reads a chunked body
only up to the cap and silently drops the rest. Whatever goes wrong while reading (too large, too slow, a
malformed chunk) becomes a werkzeug HTTP error raised when the app reads the body, so each face answers it
in its own format (XML for the command API, JSON elsewhere) and a request that never reads its body is
unaffected.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, RequestTimeout

#: Bytes kept in memory before the buffer spills to a temporary file.
SPOOL_BYTES = 1 << 20
_CHUNK = 64 * 1024
#: The longest the deadline thread sleeps: a deadline is acted on at most this late.
_TICK = 0.25


class _Refused:
    """A request body that could not be read: reading it raises the error that says why."""

    def __init__(self, error: HTTPException):
        self.error = error

    def read(self, *_args: Any) -> bytes:
        raise self.error

    readline = read

    def __iter__(self):
        raise self.error


class _Deadlines:
    """Shuts the read side of sockets whose body is late, from one thread per process: a client that sends a
    byte now and then never lets a blocking read time out, so only a deadline outside the read ends it."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Any]] = []
        self._live: set[int] = set()
        self._by_socket: dict[int, int] = {}
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: Any, deadline: float) -> int:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():  # (re)started in each worker process
                self._thread = threading.Thread(target=self._run, name="body-deadlines", daemon=True)
                self._thread.start()
            ticket = next(self._order)
            # Waking the watcher thread for every connection costs a context switch per request; it wakes by
            # itself at least every _TICK seconds, so only a deadline earlier than all others needs it now.
            if self._heap and deadline < self._heap[0][0]:
                self._cond.notify()
            heapq.heappush(self._heap, (deadline, ticket, sock))
            self._live.add(ticket)
            self._by_socket[id(sock)] = ticket
            return ticket

    def done(self, ticket: int) -> None:
        with self._cond:
            self._live.discard(ticket)

    def forget(self, sock: Any) -> None:
        """End the newest deadline set on ``sock``.

        The request has arrived: what the app does is not limited."""
        with self._cond:
            ticket = self._by_socket.pop(id(sock), None)
            if ticket is not None:
                self._live.discard(ticket)

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    _, ticket, sock = heapq.heappop(self._heap)
                    if self._by_socket.get(id(sock)) == ticket:
                        del self._by_socket[id(sock)]
                wait = self._heap[0][0] - time.monotonic() if self._heap else _TICK
                if wait > 0:
                    self._cond.wait(min(wait, _TICK))
                    continue
                _, ticket, sock = heapq.heappop(self._heap)
                self._live.discard(ticket)
                if self._by_socket.get(id(sock)) == ticket:
                    del self._by_socket[id(sock)]
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)


deadlines = _Deadlines()


class BufferedBody:
    """WSGI middleware: read every request body (up to ``limit`` bytes, within ``timeout`` seconds) before the
    wrapped app runs. ``limit`` is the largest body any route accepts; routes keep their own smaller caps."""

    def __init__(self, app: Callable, limit: int, timeout: float):
        self.app = app
        self.limit = limit
        self.timeout = timeout

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            deadlines.forget(sock)  # the headers are in (gateway/worker.py set a deadline for them)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = environ.get("CONTENT_LENGTH") or ""
        if chunked or (length not in ("", "0")):
            self._buffer(environ, chunked, length)
        return self.app(environ, start_response)

    def _buffer(self, environ: dict, chunked: bool, length: str) -> None:
        if not chunked and length.isdigit() and len(length) > 18:  # int() of 4,300+ digits raises
            self._too_large(environ)
            return
        declared = int(length) if length.isdigit() and not chunked else None
        if not chunked and declared is None:
            self._refuse(environ, BadRequest("The Content-Length header is not a number."))
            return
        if declared is not None and declared > self.limit:
            self._too_large(environ)
            return
        wanted = declared if declared is not None else self.limit + 1
        sock = environ.get("gunicorn.socket")
        previous = _set_timeout(sock, self.timeout)
        # the spool outlives this method: it becomes the request's wsgi.input (it is closed here on errors)
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - see above
        deadline = time.monotonic() + self.timeout
        ticket = deadlines.watch(sock, deadline) if sock is not None else None
        stream = environ["wsgi.input"]
        size = 0
        try:
            while size < wanted:
                if time.monotonic() > deadline:
                    raise TimeoutError
                _set_timeout(sock, max(0.001, deadline - time.monotonic()))
                data = stream.read(min(_CHUNK, wanted - size))
                if not data:
                    break
                spool.write(data)
                size += len(data)
        except (OSError, ValueError) as exc:  # gunicorn's parser errors (a malformed chunk) are ValueErrors
            spool.close()
            late = isinstance(exc, TimeoutError) or time.monotonic() > deadline
            self._refuse(
                environ,
                self._late()
                if late
                else BadRequest(f"The request body could not be read ({type(exc).__name__})."),
            )
            return
        finally:
            if ticket is not None:
                deadlines.done(ticket)
            _set_timeout(sock, previous)
        if declared is not None and size < declared:
            spool.close()
            late = time.monotonic() > deadline
            self._refuse(
                environ,
                self._late() if late else BadRequest("The request body is shorter than its Content-Length."),
            )
            return
        if size > self.limit:
            spool.close()
            self._too_large(environ)
            return
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False

    def _too_large(self, environ: dict) -> None:
        # a length over the largest cap: werkzeug answers 413 from it alone, with each route's own cap
        environ["wsgi.input"] = _Refused(RequestEntityTooLarge())
        environ["CONTENT_LENGTH"] = str(self.limit + 1)
        environ.pop("HTTP_TRANSFER_ENCODING", None)

    def _late(self) -> HTTPException:
        return RequestTimeout(f"The request body did not arrive within {self.timeout:g} seconds.")

    @staticmethod
    def _refuse(environ: dict, error: HTTPException) -> None:
        environ["wsgi.input"] = _Refused(error)
        # a length makes werkzeug read the body (and so meet the error) instead of treating it as empty
        environ["CONTENT_LENGTH"] = "1"
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False


def _set_timeout(sock: Any, value: float | None) -> float | None:
    if sock is None:
        return None
    try:
        previous = sock.gettimeout()
        sock.settimeout(value)
        return previous
    except OSError:
        return None
