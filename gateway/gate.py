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
from gateway.faces import LONG_PATHS, STREAM_PATHS


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
    """Ordinary requests ``concurrency`` at a time; streams beside them; long work (imports, fixture resets:
    LONG_PATHS) beside them too, one at a time of its own, so that the requests queued behind it on this
    worker are answered while it runs (they share the interpreter with it, not the wait)."""

    def __init__(self, app, concurrency: int = 1):
        self.app = app
        self._slots = threading.BoundedSemaphore(concurrency)
        self._long = threading.BoundedSemaphore(1)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path in STREAM_PATHS:
            return self.app(environ, start_response)
        slots = self._long if path in LONG_PATHS else self._slots
        slots.acquire()
        try:
            body = self.app(environ, start_response)
        except BaseException:
            slots.release()
            raise
        return _Released(body, slots.release)
