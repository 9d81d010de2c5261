"""The request journal: one entry per API call, so tests can check what an integration asked for.

Calls of the command face (``/api/command``, ``/api/command.ns``), the token endpoint and the JSON face
(``/api/v1``, the admin surface excepted) are recorded: gateway time, request id, face, method, path,
action, calling account (client id), parameters, request headers, status, the text of any error the answer
carried (an XML ``<error>``, 200s included), duration and any injected fault. Secrets are never kept:
``password``, ``client_secret`` and token parameters are redacted, and so are the values of the
Authorization and cookie headers and of any header whose name says token, secret, key, password or
session. The journal holds the newest GATEWAY_JOURNAL_MAX_ENTRIES entries (the oldest go in batches of up
to 64: gateway.storage.journal.prune_every), and no more than
GATEWAY_JOURNAL_MAX_BYTES of them (the oldest go first); GATEWAY_JOURNAL=false turns it off (load tests).
A call no account made keeps PARAMS_TEXT_ANONYMOUS characters of parameters and PATH_TEXT of its path.

Written behind the answers (SQLite): a request hands its entry to this process's journal writer, a thread
that writes whatever has gathered over GATHER in one transaction, and answers at once. Each process posts
how many entries it has recorded and written on a board every process of the database shares
(gateway.storage.pending); a read of the journal (query, count, wait, clear), from any worker or from the
CLI, wakes the writers holding entries and waits until every process has written what it had recorded when
the read began. So a client that has read a whole answer finds its call in the journal on its next read, as
when entries were written before the answer; what a clean shutdown has not written yet is written before
the process ends (``close``); a killed worker loses what it had not written (at most GATHER of calls). At
most PENDING_MAX entries wait in a process; past that a request waits for room (the database is slower
than the requests).
On PostgreSQL, whose nodes share no board, entries are written before the answer, in groups (``record``).

Verification: ``count`` says how many entries match a filter, ``wait`` blocks until that many do (or a
timeout). Entries are rows of the shared database, written by every worker and node, so a wait cannot be
told of every write: it sleeps on a condition that this process's own writes notify at once, and wakes
every GATEWAY_JOURNAL_WAIT_RECHECK_SECONDS to count again for the writes of other processes (SQLite has
no notification between processes; PostgreSQL's NOTIFY would cost a trigger on every API call).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf, Range

from gateway.clock import iso8601
from gateway.controls.clock import Instant
from gateway.controls.faults import FACES
from gateway.controls.ports import JournalLog, PendingBoard
from gateway.errors import InvalidRequestError
from gateway.registry.schemas import xml_safe

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
#: Parameter names whose values never reach the journal (compared in lower case).
SECRET_PARAMETERS = frozenset(
    {
        "password",
        "client_secret",
        "secret",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "assertion",
        "authorization",
        "code",
    }
)
MAX_PARAMETERS = 50
MAX_VALUE_LENGTH = 1000
MAX_VALUES = 20
#: Characters of parameter text one entry keeps: an authenticated call's, and a call no account made (any
#: web page can make one to 127.0.0.1, so it must cost the database little). With JOURNAL_MAX_ENTRIES kept,
#: the journal holds at most about that many times 9 KB.
PARAMS_TEXT = 8192
PARAMS_TEXT_ANONYMOUS = 1024
#: Characters of the path one entry keeps (gunicorn lets a request line be 8 KB).
PATH_TEXT = 1024
#: The member that says parameters were left out.
LEFT_OUT = "…"
#: Characters of header text one entry keeps, and of an error's text.
HEADERS_TEXT = 4096
ERROR_TEXT = 1000
#: Header names whose values never reach the journal (compared in lower case), and the words that make any
#: other name secret-like (X-Api-Key, X-Auth-Token, X-Session-Id, ...).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_HEADER_WORDS = (
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "auth",
    "session",
    "cookie",
    "credential",
)


def _value(value):
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_LENGTH else value[:MAX_VALUE_LENGTH] + "…"
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, list):
        return [_value(v) for v in value[:MAX_VALUES]]
    return _value(str(value))


def _text_size(value: object) -> int:
    if isinstance(value, list):
        return sum(_text_size(v) for v in value) + len(value)
    return len(value) if isinstance(value, str) else 8


def multi(values) -> dict:
    """A request's multi-dict of parameters as the journal keeps them: one value as itself, several as a
    list."""
    return {key: (items[0] if len(items) == 1 else items) for key, items in values.lists()}


def redact(params: Mapping[str, object], budget: int = PARAMS_TEXT) -> dict:
    """Parameters fit for the journal: secrets replaced, sizes bounded (each value, and all of them together
    to ``budget`` characters; what is left out is counted under LEFT_OUT)."""
    out: dict = {}
    items = list(params.items())
    used = 0
    for index, (name, value) in enumerate(items):
        key = str(name)[:128]
        kept = REDACTED if key.lower() in SECRET_PARAMETERS else _value(value)
        used += len(key) + _text_size(kept)
        if index >= MAX_PARAMETERS or used > budget:
            out[LEFT_OUT] = f"{len(items) - index} more parameters not kept (journal size limits)"
            break
        out[key] = kept
    return out


def secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in SECRET_HEADER_WORDS)


def redact_headers(headers: Mapping[str, str] | list[tuple[str, str]], signed: bool = True) -> dict:
    """Request headers fit for the journal: secret-like ones redacted, sizes bounded like parameters (less
    for a call no account made, ``signed`` False)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    kept: dict[str, object] = {}
    for name, value in pairs:
        value = REDACTED if secret_header(name) else value
        if name in kept:  # a repeated header: its values in order
            previous = kept[name]
            kept[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            kept[name] = value
    return redact(kept, HEADERS_TEXT if signed else PARAMS_TEXT_ANONYMOUS)


def error_text(message: str | None) -> str | None:
    if message is None:
        return None
    return message if len(message) <= ERROR_TEXT else message[:ERROR_TEXT] + "…"


class FilterSchema(Schema):
    """What selects journal entries (every filter must hold)."""

    class Meta:
        unknown = RAISE

    action = fields.String(validate=[Length(1, 128), xml_safe])
    account = fields.String(validate=[Length(1, 64), xml_safe])
    face = fields.String(validate=OneOf(FACES))
    status = fields.Integer(validate=Range(100, 599))
    method = fields.String(validate=OneOf(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")))
    path = fields.String(validate=[Length(1, 1024), xml_safe])
    request_id = fields.String(validate=[Length(1, 128), xml_safe])
    fault = fields.String(validate=[Length(1, 16), xml_safe])
    error = fields.String(
        validate=[Length(1, 1000), xml_safe],
        metadata={"description": "Entries whose answer carried an error containing this text."},
    )
    has_error = fields.Boolean(
        metadata={"description": "Only entries whose answer carried an error (or not)."}
    )
    since = Instant()
    after = fields.Integer(
        load_default=0, validate=Range(0, 2**62), metadata={"description": "Only entries after this seq."}
    )


#: The names of the filters (the journal's helpers in the plugin and the CLI pass these on).
FILTERS = tuple(name for name in FilterSchema().fields if name != "after")


class QuerySchema(FilterSchema):
    limit = fields.Integer(load_default=100, validate=Range(1, 1000))
    tail = fields.Boolean(
        load_default=False,
        metadata={"description": "The newest ``limit`` matching entries (still oldest first)."},
    )


class WaitSchema(FilterSchema):
    count = fields.Integer(
        required=True,
        validate=Range(0, 1_000_000),
        metadata={"description": "Answer once at least this many entries match."},
    )
    timeout = fields.Float(
        load_default=10.0,
        validate=Range(0, 3600),
        metadata={"description": "Seconds to wait at most (GATEWAY_JOURNAL_WAIT_MAX_SECONDS caps it)."},
    )


class CountOut(Schema):
    enabled = fields.Boolean(required=True, metadata={"description": "Whether the journal records calls."})
    count = fields.Integer(required=True, metadata={"description": "Matching entries."})


class WaitOut(CountOut):
    satisfied = fields.Boolean(
        required=True, metadata={"description": "At least ``expected`` entries match."}
    )
    expected = fields.Integer(required=True)
    waited = fields.Float(required=True, metadata={"description": "Seconds the wait took."})


#: Entries one process may hold unwritten (each at most about 14 KB: PARAMS_TEXT, HEADERS_TEXT, ERROR_TEXT).
PENDING_MAX = 1024
#: Seconds a read waits for the other processes' unwritten entries at most (a stalled database).
SETTLE_MAX = 10.0
#: Seconds the writer lets entries gather before it writes them: fewer, larger transactions, so fewer
#: commits for every worker to notice (one client, 6 interleaved rounds: 2 ms 0.54x WireMock's requests/s,
#: 20 ms 0.64x, 50 ms 0.79x, the journal off 0.96x). A read of the journal does not wait for it: it wakes the
#: writers holding what it waits for (gateway.storage.pending), and so does a batch of GATHER_FULL entries.
#: A killed worker loses what it held: at most this long of calls.
GATHER = 0.05
#: Entries that end the writer's gathering at once.
GATHER_FULL = 256
#: Seconds the writer thread waits for entries before it ends (the next entry starts another).
WRITER_IDLE = 2.0


#: Journals with a writer in this process: what they hold is written when the process exits cleanly.
_OPEN: weakref.WeakSet[Journal] = weakref.WeakSet()


@atexit.register
def _write_at_exit() -> None:
    for journal in list(_OPEN):
        journal.close()


def public(entry: dict) -> dict:
    return {**entry, "time": iso8601(int(entry["ts"]))}


def _always() -> bool:
    return True


class _Batch:
    """Entries written together, and how their write ended."""

    __slots__ = ("done", "entries", "error")

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.done = False
        self.error: BaseException | None = None


class Journal:
    """With a ``board``, entries are written behind the answers by one thread of each process, whatever has
    gathered in one transaction, and reads first wait for every process's earlier entries (see the
    module). Without one, entries are written in groups before the answers: a request's entry joins the
    group being gathered; the first request to find no write in progress writes the group (one
    transaction) while later entries gather in the next. Every caller returns once its own entry is
    committed; under load one commit serves several requests."""

    def __init__(
        self,
        store: JournalLog,
        *,
        enabled: bool,
        keep: int,
        wait_max: float = 60.0,
        recheck: float = 0.1,
        budget: int | None = None,
        board: PendingBoard | None = None,
        pending_max: int = PENDING_MAX,
        settle_max: float = SETTLE_MAX,
    ):
        self.store = store
        self.enabled = enabled
        self.keep = keep
        self.budget = budget
        self.wait_max = wait_max
        self.recheck = recheck
        #: Notified when this process writes entries (waits sleep on it) and when a group's write ends.
        self._written = threading.Condition()
        self._writes = 0
        self._gathering = _Batch()
        self._writing = False
        # Written behind the answers: entries waiting for this process's writer, counted.
        self.board = board
        self.pending_max = pending_max
        self.settle_max = settle_max
        self._pending: list[dict] = []
        self._enqueued = 0
        self._settled = 0  # written, or given up after a failed write
        self._writer: threading.Thread | None = None
        self._writer_pid: int | None = None
        self._closing = False
        if board is not None:
            store.on_close(self.close)  # before its connections go: the writer may be using one

    @property
    def writing(self) -> bool:
        """Whether a group of entries is being written now."""
        with self._written:
            return self._writing

    @property
    def gathered(self) -> int:
        """Entries waiting for the write in progress to end, to be written together by the next one."""
        with self._written:
            return len(self._gathering.entries)

    @property
    def pending(self) -> int:
        """Entries handed to this process's writer and not taken by it yet (written behind the answers)."""
        with self._written:
            return len(self._pending)

    def record(self, entry: dict) -> None:
        """Write ``entry``: behind the answer (with a board), or now, returning once it is committed (and
        raising what its group's write raised)."""
        if not self.enabled:
            return
        path = entry.get("path")
        if isinstance(path, str) and len(path) > PATH_TEXT:
            entry = {**entry, "path": path[:PATH_TEXT] + LEFT_OUT}
        if self.board is not None:
            self._hand_over(entry)
            return
        with self._written:
            batch = self._gathering
            batch.entries.append(entry)
            while self._writing and not batch.done:
                self._written.wait()
            if batch.done:  # another request wrote it
                if batch.error is not None:
                    raise batch.error
                return
            self._writing = True  # this request writes the group; later entries gather in the next
            self._gathering = _Batch()
        try:
            self.store.append_journal(batch.entries, self.keep, self.budget)
        except BaseException as error:
            batch.error = error
            raise
        finally:
            with self._written:
                batch.done = True
                self._writing = False
                if batch.error is None:
                    self._writes += len(batch.entries)
                self._written.notify_all()

    # --- written behind the answers ----------------------------------------------------------------
    def _hand_over(self, entry: dict) -> None:
        board = self.board
        assert board is not None
        with self._written:
            if not self._closing:
                writer = self._writer
                if writer is None or not writer.is_alive() or self._writer_pid != os.getpid():
                    self._start_writer()  # the first entry, after an idle time, or in a forked child
                while len(self._pending) >= self.pending_max and not self._closing:
                    self._written.wait()  # the database is slower than the requests: wait for room
            self._enqueued += 1
            entry = self._numbered(entry, board)  # posted under the lock: in counter order
            if self._closing:  # the process is ending (or ended while this waited): written here, counted
                self._write([entry])
                return
            self._pending.append(entry)
            if len(self._pending) == GATHER_FULL:
                board.wake([os.getpid()])
            if len(self._pending) == 1:
                self._written.notify_all()  # the writer sleeps until there is something to write

    def _numbered(self, entry: dict, board: PendingBoard) -> dict:
        """The entry with its ``seq``: hand-over order across every process of the database, so calls
        answered one after the other are listed in that order, whichever worker's writer writes first."""
        return {**entry, "seq": board.take(self._enqueued, self._settled, self.store.last_journal_seq)}

    def _start_writer(self) -> None:
        if self._writer_pid != os.getpid():  # this process's first entry: the parent's are the parent's
            self._pending, self._enqueued, self._settled = [], 0, 0
            self._writer_pid = os.getpid()
            _OPEN.add(self)  # written at exit (a weak set: a journal nobody holds is not kept for it)
        self._writer = threading.Thread(target=self._write_behind, name="journal-writer", daemon=True)
        self._writer.start()

    def _write_behind(self) -> None:
        try:
            self._write_batches()
        except BaseException:  # not expected (_write logs a failed write): the next entry starts a writer
            log.exception("the journal writer stopped")
            with self._written:
                self._writer = None
            raise

    def _write_batches(self) -> None:
        while True:
            with self._written:
                if not self._pending and not self._closing:
                    self._written.wait(WRITER_IDLE)
                if not self._pending:
                    self._writer = None  # idle or closing: the next entry starts another
                    return
                closing = self._closing
            if not closing:
                assert self.board is not None  # a writer writes behind the answers: on a board
                self.board.nap(GATHER)  # let entries gather, unless a reader or a full batch wakes it
            with self._written:
                batch, self._pending = self._pending, []
                self._written.notify_all()  # room for requests waiting for it
            self._write(batch)

    def _write(self, batch: list[dict]) -> None:
        """Write ``batch`` in one transaction, and count it settled; a failed write is logged and given up
        (the requests were answered long ago; a reader must not wait for it forever)."""
        written = False
        try:
            self.store.append_journal(batch, self.keep, self.budget)
            written = True
        except Exception:
            log.exception("%d journal entries could not be written", len(batch))
        with self._written:
            self._settled += len(batch)
            if written:
                self._writes += len(batch)
            if self.board is not None:
                self.board.post(self._enqueued, self._settled)
            self._written.notify_all()

    def settle(self) -> None:
        """Return once every entry recorded before this call - by this process, and by every other process
        of the database - is written (or given up), or SETTLE_MAX seconds passed."""
        board = self.board
        if board is None:
            return
        deadline = time.monotonic() + self.settle_max
        with self._written:
            # One cut of every process's hand-overs (this one's under its lock, the others' under the
            # board's): every entry numbered before it is waited for, so none numbered lower appears later.
            target = self._enqueued
            others = board.others()
            waiting = {pid: enqueued for pid, (enqueued, settled) in others.items() if settled < enqueued}
            board.wake([*waiting, *([os.getpid()] if self._settled < target else [])])  # write it now
            while self._settled < target and (remaining := deadline - time.monotonic()) > 0:
                self._written.wait(remaining)
        while waiting and time.monotonic() < deadline:
            time.sleep(0.001)  # another process's writer: its next commit is about a millisecond away
            now = board.others()
            waiting = {pid: target for pid, target in waiting.items() if pid in now and now[pid][1] < target}

    def close(self) -> None:
        """Write every entry still waiting and stop this process's writer (a clean shutdown loses none)."""
        with self._written:
            writer = self._writer if self._writer_pid == os.getpid() else None
            self._closing = True
            self._written.notify_all()
            if self.board is not None and writer is not None:
                self.board.wake([os.getpid()])  # from its nap
        if writer is not None:
            writer.join(self.settle_max)
        if self.board is not None:
            self.board.close()

    def query(self, *, limit: int = 100, tail: bool = False, **filters) -> dict:
        """A page of entries (oldest first), the cursor of the next page (None at the end) and how many
        entries match in all (so a reader knows when more exist than it was shown)."""
        self.settle()
        entries = self.store.query_journal(limit=limit, tail=tail, **filters)
        total = self.store.count_journal(**filters)
        next_after = entries[-1]["seq"] if len(entries) == limit and not tail and total > limit else None
        return {
            "enabled": self.enabled,
            "entries": [public(e) for e in entries],
            "next_after": next_after,
            "total": total,
        }

    def count(self, **filters) -> dict:
        self.settle()
        return {"enabled": self.enabled, "count": self.store.count_journal(**filters)}

    def wait(
        self, count: int, timeout: float = 10.0, *, alive: Callable[[], bool] = _always, **filters
    ) -> dict:
        """Block until at least ``count`` entries match ``filters``, or ``timeout`` seconds passed (the
        answer says which: ``satisfied``)."""
        if timeout > self.wait_max:
            raise InvalidRequestError(
                f"timeout: at most {self.wait_max:g} seconds (GATEWAY_JOURNAL_WAIT_MAX_SECONDS).",
                details={"field": "timeout"},
            )
        started = time.monotonic()
        deadline = started + timeout
        self.settle()
        while True:
            with self._written:
                writes = self._writes
            found = self.store.count_journal(**filters)
            remaining = deadline - time.monotonic()
            if found >= count or remaining <= 0 or not self.enabled or not alive():
                break  # (a journal that is off records nothing: no use waiting)
            with self._written:
                if self._writes == writes:  # nothing written here since the count: sleep until something is
                    self._written.wait(min(remaining, self.recheck))
        return {
            "enabled": self.enabled,
            "satisfied": found >= count,
            "count": found,
            "expected": count,
            "waited": round(time.monotonic() - started, 3),
        }

    def clear(self) -> int:
        self.settle()  # entries of requests answered before the clear go with it
        return self.store.clear_journal()
