"""The request journal: one entry per API call, so tests can check what an integration asked for.

Calls of the command face (``/api/command``, ``/api/command.ns``), the token endpoint and the JSON face
(``/api/v1``, the admin surface excepted) are recorded: gateway time, request id, face, method, path,
action, calling account (client id), parameters, status, duration and any injected fault. Secrets are
never kept: ``password``, ``client_secret`` and token parameters are redacted and the Authorization
header is never read. The journal holds the newest GATEWAY_JOURNAL_MAX_ENTRIES entries, and no more than
GATEWAY_JOURNAL_MAX_BYTES of them (the oldest go first); GATEWAY_JOURNAL=false turns it off (load tests).
A call no account made keeps PARAMS_TEXT_ANONYMOUS characters of parameters and PATH_TEXT of its path.
"""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf, Range

from gateway.clock import iso8601
from gateway.controls.clock import Instant
from gateway.controls.faults import FACES
from gateway.controls.ports import JournalLog
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


class QuerySchema(Schema):
    class Meta:
        unknown = RAISE

    action = fields.String(validate=[Length(1, 128), xml_safe])
    account = fields.String(validate=[Length(1, 64), xml_safe])
    face = fields.String(validate=OneOf(FACES))
    status = fields.Integer(validate=Range(100, 599))
    since = Instant()
    after = fields.Integer(load_default=0, validate=Range(0, 2**62))
    limit = fields.Integer(load_default=100, validate=Range(1, 1000))


def public(entry: dict) -> dict:
    return {**entry, "time": iso8601(int(entry["ts"]))}


class Journal:
    def __init__(self, store: JournalLog, *, enabled: bool, keep: int, budget: int | None = None):
        self.store = store
        self.enabled = enabled
        self.keep = keep
        self.budget = budget

    def record(self, entry: dict) -> None:
        if self.enabled:
            path = entry.get("path")
            if isinstance(path, str) and len(path) > PATH_TEXT:
                entry = {**entry, "path": path[:PATH_TEXT] + LEFT_OUT}
            self.store.append_journal(entry, self.keep, self.budget)

    def query(self, **filters) -> dict:
        """A page of entries (oldest first) and the cursor of the next page (None at the end)."""
        entries = self.store.query_journal(**filters)
        limit = filters.get("limit", 100)
        next_after = entries[-1]["seq"] if len(entries) == limit else None
        return {"enabled": self.enabled, "entries": [public(e) for e in entries], "next_after": next_after}

    def clear(self) -> int:
        return self.store.clear_journal()
