"""Server-sent events of the registry's change log, as plain Python (no Flask): the frames, the filters,
the per-process caps on open streams (in all, and per account), the check that a stream's client is still
there, and the generator one stream runs (see gateway.api.events)."""

from __future__ import annotations

import collections
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gateway.errors import GatewayError, TooManyStreamsError
from gateway.registry.documents import ChangeEventOut, change_type, with_times
from gateway.registry.model import Change
from gateway.registry.service import Registry

#: Changes read from the log at once.
BATCH = 500
MAX_EVENT_ID = 2**63 - 1
CHANGE_EVENT = ChangeEventOut()


def _worker_alive() -> bool:
    return True


#: Whether this process should keep streaming; gunicorn.conf.py points it at the worker's ``alive`` flag so
#: that streams end (and the worker stops quickly) on a graceful shutdown.
worker_alive: Callable[[], bool] = _worker_alive


class StreamSlots:
    """How many streams this process serves, capped (one per thread they hold), and how many of them one
    account holds, capped lower, so that one account cannot take every slot."""

    def __init__(self, limit: int, per_account: int | None = None):
        self.limit = limit
        self.per_account = min(per_account or limit, limit)
        self.open = 0
        self._held: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        #: A gauge (inc/dec) that follows the open streams: the metrics blueprint sets it.
        self.gauge = None

    def take(self, account: str = "") -> str | None:
        """Take a slot for ``account``; None if taken, else why not ("worker" or "account")."""
        with self._lock:
            if self.open >= self.limit:
                return "worker"
            if self._held[account] >= self.per_account:
                return "account"
            self.open += 1
            self._held[account] += 1
        if self.gauge is not None:
            self.gauge.inc()
        return None

    def take_or_refuse(self, account: str, what: str, retry: int) -> None:
        """Take a slot for ``account``, or refuse with 503 + Retry-After saying whose limit is reached
        (``what`` the slots hold here, e.g. "event streams")."""
        refused = self.take(account)
        if refused is None:
            return
        held = (
            f"This worker already serves {self.limit} {what}"
            if refused == "worker"
            else f"This account already holds {self.per_account} {what} on this worker"
            " (GATEWAY_STREAMS_PER_ACCOUNT)"
        )
        raise TooManyStreamsError(f"{held}; retry in {retry} s.", headers={"Retry-After": str(retry)})

    def give(self, account: str = "") -> None:
        with self._lock:
            self.open -= 1
            self._held[account] -= 1
            if self._held[account] <= 0:
                del self._held[account]
        if self.gauge is not None:
            self.gauge.dec()


def peer_gone(sock: object) -> bool:
    """Whether the client at the other end of ``sock`` has closed its connection (or reset it).

    A stream writes only now and then (an event, a heartbeat), and a write is what tells a server the client
    left; asking the socket between two polls frees a vanished stream's slot at once instead."""
    if sock is None:
        return False
    try:
        fd = sock.fileno()  # type: ignore[attr-defined]
        if fd < 0:
            return True
        poller = select.poll()
        poller.register(fd, select.POLLIN | getattr(select, "POLLRDHUP", 0))
        events = poller.poll(0)
        if not events:
            return False
        flags = events[0][1]
        if flags & (select.POLLHUP | select.POLLERR | select.POLLNVAL | getattr(select, "POLLRDHUP", 0)):
            return True
        # readable: bytes from the client, or its end of file (peek on the raw descriptor: a TLS socket
        # refuses flags, and a TLS record is bytes here too)
        with socket.socket(fileno=socket.dup(fd)) as raw:
            return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@dataclass(frozen=True)
class Filters:
    kinds: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    ids: tuple[int, ...] | None = None

    def match(self, change: Change) -> bool:
        if self.kinds is not None and change.kind not in self.kinds:
            return False
        if change.kind == "reset":
            return True  # the whole registry changed: every filtered view is affected
        if self.types is not None and change_type(change) not in self.types:
            return False
        return self.ids is None or change.client_id in self.ids


@dataclass(frozen=True)
class Timing:
    lifetime: float
    heartbeat: float
    poll: float
    retry_ms: int


def frame(data: dict, event: str, event_id: int | None = None) -> bytes:
    lines = ([f"id: {event_id}"] if event_id is not None else []) + [
        f"event: {event}",
        f"data: {json.dumps(data, separators=(',', ':'))}",
    ]
    return ("\n".join(lines) + "\n\n").encode()


def resync(reason: str, last_event_id: int, resume_after: int) -> bytes:
    """Tell the client it missed changes; its resume point moves to ``resume_after``."""
    return frame(
        {
            "reason": reason,
            "last_event_id": last_event_id,
            "resume_after": resume_after,
            "action": "reload the registry (GET /api/v1/clients), then keep reading this stream",
        },
        "resync",
        resume_after,
    )


def stream(
    registry: Registry,
    cursor: int | None,
    filters: Filters,
    timing: Timing,
    time_format: str = "unix",
    gone: Callable[[], bool] = lambda: False,
) -> Iterator[bytes]:
    """The events after ``cursor`` (None: after the newest change), until the lifetime ends or the client
    is ``gone``; their times as ``time_format`` asks (see gateway.registry.documents.TIME_FORMATS)."""
    started = time.monotonic()
    try:
        oldest, last = (
            registry.change_bounds()
        )  # before the first chunk: the stream starts when it is asked for
    except GatewayError as exc:
        yield frame({"error": exc.code, "message": exc.message}, "error")
        return
    yield f"retry: {timing.retry_ms}\n: stream open\n\n".encode()
    try:
        if cursor is None:
            cursor = last
        elif cursor > last:
            yield resync(
                f"event id {cursor} was never given by this registry (the newest is {last})", cursor, last
            )
            cursor = last
        elif cursor < (last if oldest is None else oldest - 1):
            resume = last if oldest is None else oldest - 1
            yield resync(f"the changes after {cursor} up to {resume} are no longer kept", cursor, resume)
            cursor = resume
        sent, written = cursor, time.monotonic()
        while True:
            batch = registry.changes_after(cursor, BATCH)
            if batch and batch[0].seq > cursor + 1:
                yield resync(
                    f"the changes after {cursor} up to {batch[0].seq - 1} are no longer kept",
                    cursor,
                    batch[0].seq - 1,
                )
                sent, written = batch[0].seq - 1, time.monotonic()
            for change in batch:
                cursor = change.seq
                if filters.match(change):
                    yield frame(with_times(CHANGE_EVENT.dump(change), time_format), change.kind, change.seq)
                    sent, written = change.seq, time.monotonic()
            if len(batch) == BATCH:
                continue
            now = time.monotonic()
            if now - started >= timing.lifetime or not worker_alive():
                break
            if gone():
                return  # nobody to say goodbye to
            if now - written >= timing.heartbeat:
                yield (f": keepalive\nid: {cursor}\n\n" if cursor > sent else ": keepalive\n\n").encode()
                sent, written = cursor, now
            time.sleep(min(timing.poll, max(0.0, timing.lifetime - (now - started))))
    except GatewayError as exc:  # the database went away: say so, the client reconnects after retry
        yield frame({"error": exc.code, "message": exc.message}, "error")
        return
    yield b": stream ends; reconnect with Last-Event-ID\n\n"
