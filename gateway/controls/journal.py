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

Verification: ``count`` says how many entries match a filter, ``wait`` blocks until that many do (or a
timeout). Entries are rows of the shared database, written by every worker and node, so a wait cannot be
told of every write: it sleeps on a condition that this process's own writes notify at once, and wakes
every GATEWAY_JOURNAL_WAIT_RECHECK_SECONDS to count again for the writes of other processes (SQLite has
no notification between processes; PostgreSQL's NOTIFY would cost a trigger on every API call).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf, Range

from gateway.clock import iso8601
from gateway.controls.clock import Instant
from gateway.controls.faults import FACES
from gateway.controls.ports import JournalLog
from gateway.errors import InvalidRequestError
from gateway.registry.schemas import xml_safe

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
    """Entries are written in groups: a request's entry joins the group being gathered; the first request
    to find no write in progress writes the group (one transaction) while later entries gather in the
    next. Every caller returns once its own entry is committed, so a request is journaled before its
    answer's last byte leaves, as before; under load one commit serves several requests, and the write
    lock is taken once per group instead of once per request."""

    def __init__(
        self,
        store: JournalLog,
        *,
        enabled: bool,
        keep: int,
        wait_max: float = 60.0,
        recheck: float = 0.1,
        budget: int | None = None,
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

    def record(self, entry: dict) -> None:
        """Write ``entry``; returns once it is committed (raises what its group's write raised)."""
        if not self.enabled:
            return
        path = entry.get("path")
        if isinstance(path, str) and len(path) > PATH_TEXT:
            entry = {**entry, "path": path[:PATH_TEXT] + LEFT_OUT}
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

    def query(self, *, limit: int = 100, tail: bool = False, **filters) -> dict:
        """A page of entries (oldest first), the cursor of the next page (None at the end) and how many
        entries match in all (so a reader knows when more exist than it was shown)."""
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
        return self.store.clear_journal()
