"""One ordinary request at a time per worker process, as sync workers serve them; live event streams pass
beside it. gunicorn.conf.py puts it around the app of every gthread worker.

Why: a gthread worker runs its requests on threads, so with several requests at once in one process they
share the GIL and, on SQLite, queue for the write lock (the journal writes on every request) in the
driver's back-off sleeps; measured with ``python -m bench --only reads``, that tripled to tenfolded the p99
latency of single-client requests compared with sync workers. Behind this gate a worker handles ordinary
requests one after the other (its other threads wait here, as connections wait in the listen queue of a
sync worker), while event streams, which mostly sleep, run on the remaining threads. A request leaves the
gate once its answer is made, before its journal entry is written (GATE_RELEASE): that wait is a commit,
which gateway.controls.journal shares between the entries of the requests that came meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

# Known by path: the gate decides before Flask routes (gateway.faces holds the URL knowledge).
from gateway.faces import LONG_PATHS, STREAM_PATHS
from gateway.facts import GATE_RELEASE


class _Released:
    """The response body; the gate opens when the server closes it (after the last byte, or on a hang-up),
    or earlier when the app says its work is done (GATE_RELEASE)."""

    def __init__(self, body: Iterable[bytes], release: Callable[[], None]):
        self.body = body
        self._release = release

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._release()


def _once(release: Callable[[], None]) -> Callable[[], None]:
    lock = threading.Lock()
    pending = [release]

    def release_once() -> None:
        with lock:
            todo = pending.pop() if pending else None
        if todo is not None:
            todo()

    return release_once


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
        release = environ[GATE_RELEASE] = _once(slots.release)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            release()
            raise
        return _Released(body, release)
