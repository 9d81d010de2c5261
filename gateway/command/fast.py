"""The command face's fast path: a GET whose document this worker has kept (gateway.command.cache) is
answered before Flask.

Integrations poll the same few reads over and over; once a document is kept, answering it is a lookup,
and Flask's request machinery (context, routing, hooks, the response object) was most of what such a
request cost. This path asks exactly what the Flask path asks, in the same order, through the same
functions: the shared counters and controls, the bearer token (remembered per worker), the action, the
account's permission and the parameters (gateway.command.views.resolve), then the kept document under
the registry's change version. It answers only when every one of them says yes and nothing else could
change the answer: no fault rule and no rate limit in force, a GET with a valid bearer header, an action
whose documents are kept, a kept document. Anything else - an error, a legacy login, a document not kept
yet - goes to Flask unchanged, which answers (and keeps the document for the next time).

What a query string and a set of headers come to (the action, its parameters, their journal
text) is worked out once per worker and remembered, within bounds (MEMO_SIZE, MEMO_TEXT): integrations
repeat the same few requests, and working them out was a fifth of such a request's CPU.

What it answers is what Flask answers: the same status, headers in the same order and bytes; it fills in
the request's facts as the hooks would (face, action, time, account, journaled parameters and headers),
so the middleware around both records the same journal entry, metrics and log line. The tests compare
the two answer by answer. Measured by ``make bench`` (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request

from gateway import faces
from gateway.command.dispatch import Action
from gateway.command.views import document_key, resolve
from gateway.controls.journal import PARAMS_TEXT, REDACTED, multi, redact, redact_headers, secret_header
from gateway.errors import GatewayError, StorageUnavailableError
from gateway.facts import of_environ
from gateway.versions import CONTROLS_VERSION
from gateway.xml.document import CONTENT_TYPE

if TYPE_CHECKING:
    from gateway.services import Services

PATHS = frozenset({"/api/command", "/api/command.ns"})

#: What a worker remembers of the query strings and header sets it answered before Flask: at most
#: MEMO_SIZE of each, each of at most MEMO_TEXT characters (a longer one is worked out every time), so
#: the memos stay within about MEMO_SIZE x 1 KB each whatever clients send.
MEMO_SIZE = 2048
MEMO_TEXT = 1024


@dataclass(frozen=True)
class _Query:
    """What a query string says to an account of one permission: the action and its loaded parameters
    (gateway.command.views.resolve), and the parameters as the journal keeps them."""

    action: Action
    args: Any
    params: dict


def _remember(memo: dict, key: Any, value: Any) -> None:
    if len(memo) >= MEMO_SIZE:
        memo.clear()  # a bounded memo; the usual few keys are back after a request each
    memo[key] = value


@lru_cache(maxsize=256)
def _secret_header(environ_key: str) -> bool:
    """Whether an environ key names a secret-like header (its name as werkzeug's EnvironHeaders gives it)."""
    name = environ_key[5:] if environ_key.startswith("HTTP_") else environ_key
    return secret_header(name.replace("_", "-"))


class KeptDocuments:
    """WSGI: kept documents answered here, every other request passed to ``app`` (Flask's wsgi_app)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], services: Services, config: dict[str, Any]):
        self.app = app
        self.services = services
        self.config = config
        # Integrations repeat the same few requests: their query strings and header sets are worked out
        # once per worker (pure functions of their text and the fixed settings), not on every request.
        self._queries: dict[tuple[str, str], _Query] = {}
        self._header_sets: dict[tuple, dict] = {}

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") in PATHS:
            try:
                kept = self._kept(environ)
            except StorageUnavailableError as error:
                of_environ(environ).unavailable = error  # Flask answers it (gateway.controls.hooks)
                kept = None
            except Exception:  # noqa: BLE001 - unexpected here: Flask meets it again and answers it
                kept = None
            if kept is not None:
                start_response("200 OK", self._headers(kept))
                return kept
        return self.app(environ, start_response)

    def _kept(self, environ: dict) -> tuple[bytes, ...] | None:
        header = environ.get("HTTP_AUTHORIZATION")
        svc = self.services
        if not header or not svc.documents.enabled:
            return None
        controls = svc.controls
        controls.sync(svc.versions.refresh()[CONTROLS_VERSION])  # as the Flask hooks do first
        if controls.faults.rules or controls.rate_limits.settings.enabled:
            return None  # either may answer otherwise: the Flask hooks decide
        account = svc.accounts.account_of_bearer(header)
        if account is None:
            return None
        query = self._query(environ, account)
        if query is None or not query.action.cached:
            return None
        action, args = query.action, query.args
        version = svc.versions.registry
        kept = (
            svc.documents.get(version, document_key(action, args, self.config))
            if version is not None
            else None
        )
        if kept is None:
            return None
        # What the Flask hooks would have noted, for the middleware to record.
        facts = of_environ(environ)
        facts.face = faces.COMMAND
        facts.action = action.name
        facts.ts = controls.clock.now()
        facts.account = account.client_id
        if controls.journal.enabled:
            facts.params = query.params
            facts.headers = self._journal_headers(environ)
        return kept

    def _query(self, environ: dict, account: Any) -> _Query | None:
        """The query string's action and parameters for this account; None when it is in error (Flask words
        the error, and an error is not remembered)."""
        text = environ.get("QUERY_STRING", "")
        key = (text, account.permission)
        query = self._queries.get(key)
        if query is None:
            values = Request(environ).args  # a GET's parameters are its query string's (as request.values)
            try:
                action, args = resolve(values, account, self.config)
            except GatewayError:
                return None
            query = _Query(action, args, redact(multi(values), PARAMS_TEXT))  # (shared by entries, unchanged)
            if len(text) <= MEMO_TEXT and REDACTED not in query.params.values():
                _remember(self._queries, key, query)  # (a query string with a password is not kept)
        return query

    def _journal_headers(self, environ: dict) -> dict:
        """The request's headers as the journal keeps them (the Flask hooks' redact_headers). Remembered by
        the headers' names and values, secret-like values left out of the key: no token is kept for it.
        (Entries share a remembered dict, which nothing changes.)"""
        pairs = []
        size = 0
        for name, value in environ.items():  # the keys werkzeug's EnvironHeaders reads, in its order
            if name.startswith("HTTP_"):
                if name in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    continue
            elif name not in ("CONTENT_TYPE", "CONTENT_LENGTH") or not value:
                continue
            secret = _secret_header(name)
            pairs.append((name, None if secret else value))
            size += len(name) + (0 if secret else len(value))
        key = tuple(pairs) if size <= MEMO_TEXT else None
        headers = self._header_sets.get(key) if key is not None else None
        if headers is None:
            headers = redact_headers(list(EnvironHeaders(environ).items()), True)
            if key is not None:
                _remember(self._header_sets, key, headers)
        return headers

    def _headers(self, kept: tuple[bytes, ...]) -> list[tuple[str, str]]:
        """Flask's headers for the same answer, in its order: werkzeug counts a one-chunk body as it is
        made, a body of several chunks after the after-request hooks have added theirs."""
        length = ("Content-Length", str(sum(map(len, kept))))
        headers = [("Content-Type", CONTENT_TYPE)]
        if len(kept) == 1:
            headers.append(length)
        headers.append(("X-Content-Type-Options", "nosniff"))
        if self.config["CONNECTION_CLOSE"]:
            headers.append(("Connection", "close"))
        if len(kept) > 1:
            headers.append(length)
        return headers
