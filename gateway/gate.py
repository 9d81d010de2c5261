"""One ordinary request at a time per worker process, as sync workers serve them; live event streams pass
beside it. gunicorn.conf.py puts it around the app of every gthread worker.

Why: a gthread worker runs its requests on threads, so with several requests at once in one process they
share the GIL and, on SQLite, queue for the write lock (the journal writes on every request) in the
driver's back-off sleeps; measured with ``python -m bench --only reads``, that tripled to tenfolded the p99
latency of single-client requests compared with sync workers. Behind this gate a worker handles ordinary
requests one after the other (its other threads wait here, as connections wait in the listen queue of a
sync worker), while event streams, which mostly sleep, run on the remaining threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

# Known by path: the gate decides before Flask routes (gateway.faces holds the URL knowledge).
from gateway.faces import STREAM_PATHS


class _Released:
    """The response body; the gate opens when the server closes it (after the last byte, or on a hang-up)."""

    def __init__(self, body: Iterable[bytes], release: Callable[[], None]):
        self.body = body
        self._release: Callable[[], None] | None = release  # None once released

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class RequestGate:
    def __init__(self, app, concurrency: int = 1):
        self.app = app
        self._slots = threading.BoundedSemaphore(concurrency)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in STREAM_PATHS:
            return self.app(environ, start_response)
        self._slots.acquire()
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._slots.release()
            raise
        return _Released(body, self._slots.release)
