"""The request journal: one entry per API call, so tests can check what an integration asked for.

Calls of the command face (``/api/command``, ``/api/command.ns``), the token endpoint and the JSON face
(``/api/v1``, the admin surface excepted) are recorded: gateway time, request id, face, method, path,
action, calling account (client id), parameters, status, duration and any injected fault. Secrets are
never kept: ``password``, ``client_secret`` and token parameters are redacted and the Authorization
header is never read. The journal holds the newest GATEWAY_JOURNAL_MAX_ENTRIES entries;
GATEWAY_JOURNAL=false turns it off (load tests).
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


def _value(value):
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_LENGTH else value[:MAX_VALUE_LENGTH] + "…"
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, list):
        return [_value(v) for v in value[:MAX_VALUES]]
    return _value(str(value))


def redact(params: Mapping[str, object]) -> dict:
    """Parameters fit for the journal: secrets replaced, sizes bounded."""
    out = {}
    for key, value in list(params.items())[:MAX_PARAMETERS]:
        key = str(key)[:128]
        out[key] = REDACTED if key.lower() in SECRET_PARAMETERS else _value(value)
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
    def __init__(self, store: JournalLog, *, enabled: bool, keep: int):
        self.store = store
        self.enabled = enabled
        self.keep = keep

    def record(self, entry: dict) -> None:
        if self.enabled:
            self.store.append_journal(entry, self.keep)

    def query(self, **filters) -> dict:
        """A page of entries (oldest first) and the cursor of the next page (None at the end)."""
        entries = self.store.query_journal(**filters)
        limit = filters.get("limit", 100)
        next_after = entries[-1]["seq"] if len(entries) == limit else None
        return {"enabled": self.enabled, "entries": [public(e) for e in entries], "next_after": next_after}

    def clear(self) -> int:
        return self.store.clear_journal()
