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

What it answers is what Flask answers: the same status, headers in the same order and bytes; it fills in
the request's facts as the hooks would (face, action, time, account, journaled parameters and headers),
so the middleware around both records the same journal entry, metrics and log line. The tests compare
the two answer by answer. Measured by ``make bench`` (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request

from gateway import faces
from gateway.command.views import document_key, resolve
from gateway.controls.journal import PARAMS_TEXT, multi, redact, redact_headers
from gateway.errors import GatewayError, StorageUnavailableError
from gateway.facts import of_environ
from gateway.versions import CONTROLS_VERSION
from gateway.xml.document import CONTENT_TYPE

if TYPE_CHECKING:
    from gateway.services import Services

PATHS = frozenset({"/api/command", "/api/command.ns"})


class KeptDocuments:
    """WSGI: kept documents answered here, every other request passed to ``app`` (Flask's wsgi_app)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], services: Services, config: dict[str, Any]):
        self.app = app
        self.services = services
        self.config = config

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
        values = Request(environ).args  # a GET's parameters are its query string's (as request.values)
        try:
            action, args = resolve(values, account, self.config)
        except GatewayError:
            return None  # Flask words the error
        if not action.cached:
            return None
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
            facts.params = redact(multi(values), PARAMS_TEXT)
            facts.headers = redact_headers(list(EnvironHeaders(environ).items()), True)
        return kept

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
