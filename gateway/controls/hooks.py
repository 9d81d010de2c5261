"""Wiring the controls into an app: the WSGI middleware, Flask request hooks, rate limits at authentication.

Per API request (command, token and JSON faces): one read of the controls version (``Controls.sync``),
fault rules matched in memory (a write only when one matches), then after authentication a rate-limit
upsert only when limits are on, and a journal insert only when the journal is on. Health, metrics and
the XSD touch no control state.
"""

from __future__ import annotations

import time
from functools import partial

from flask import Flask, Response, request

from gateway.command.dispatch import ACTIONS
from gateway.errors import RateLimitedError
from gateway.oauth.bearer import MAX_TOKEN_LENGTH, Authenticator
from gateway.services import services
from gateway.controls import health, metrics
from gateway.controls.faults import FaultRequest, injected_error
from gateway.controls.journal import redact
from gateway.controls.logging import log_request
from gateway.storage.counters import CONTROLS_VERSION
from gateway.controls.middleware import REQUEST_ID, TRANSPORT_FAULT, ControlsMiddleware

# Values the hooks leave in the WSGI environ for the middleware, which records the request.
TS = "gateway.ts"
ACTION = "gateway.action"
ACCOUNT = "gateway.account"
PARAMS = "gateway.params"
FAULT = "gateway.fault"
RATE_VERDICT = "gateway.rate_limit"
FACE = "gateway.face"

#: Faces whose calls are journaled, faulted and (command, json) rate limited; the admin surface is not.
JOURNALED = ("command", "oauth", "json")
RATE_LIMITED = ("command", "json")


def classify(path: str) -> str | None:
    """The face a path belongs to: command, oauth, json, admin, or None (health, metrics, XSD, ...)."""
    if path in ("/api/command", "/api/command.ns"):
        return "command"
    if path == "/oauth2/token":
        return "oauth"
    if path == "/api/v1/admin" or path.startswith("/api/v1/admin/"):
        return "admin"
    if path == "/api/v1" or path.startswith("/api/v1/"):
        return "json"
    return None


def _face(environ: dict) -> str | None:
    """The face _before classified this request as (classified here if it never ran)."""
    return environ[FACE] if FACE in environ else classify(environ.get("PATH_INFO", ""))


def _action(req, face: str | None) -> str | None:
    if face == "command":
        return req.values.get("action", "")[:128] or None
    if face == "oauth":
        return "token"
    return req.endpoint


def _metric_action(face: str | None, action: str | None) -> str:
    """A bounded label: known action names and endpoints only (action names come from clients)."""
    if face == "command":
        return action if action in ACTIONS else ("none" if not action else "unknown")
    return action or "not_found"


def _json_body() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    return body if isinstance(body, dict) else {}


def _multi(values) -> dict:
    return {key: (items[0] if len(items) == 1 else items) for key, items in values.lists()}


def _presented_client_id(face: str) -> str | None:
    """Whose credentials a request carries (for faults that match an account); looks a token up only if asked."""
    if face == "oauth":
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            return auth.username
        client_id = request.form.get("client_id") or _json_body().get("client_id")
        return client_id if isinstance(client_id, str) else None
    svc = services()
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and len(header) <= MAX_TOKEN_LENGTH + 7:
        token = svc.accounts.find_token(header[7:].strip())
        return token.account.client_id if token else None
    if face == "command" and not header and request.values.get("username"):
        account = svc.accounts.find(request.values["username"][:128])
        return account.client_id if account else None
    return None


def _lazy(resolve):
    cache = []

    def get():
        if not cache:
            cache.append(resolve())
        return cache[0]

    return get


def _before():
    req = request._get_current_object()
    environ = req.environ
    face = environ[FACE] = classify(req.path)
    if face is None:
        environ[ACTION] = req.endpoint
        return None
    svc = services()
    controls = svc.controls
    controls.sync(svc.versions.refresh()[CONTROLS_VERSION])
    environ[TS] = controls.clock.now()
    action = environ[ACTION] = _action(req, face)
    if face == "admin" or not controls.faults.rules:
        return None
    outcome = controls.faults.evaluate(FaultRequest(face, action, req.path, _lazy(partial(_presented_client_id, face))))
    if outcome.kind is None:
        return None
    environ[FAULT] = outcome.kind
    if outcome.latency:
        time.sleep(outcome.latency)
    rule = outcome.rule
    if rule is None:
        return None
    if rule.terminal in ("error", "rate_limit"):
        root = ACTIONS[action].root if face == "command" and action in ACTIONS else None
        raise injected_error(rule, root)
    if rule.terminal == "drop":
        environ[TRANSPORT_FAULT] = ("drop", None)
        return Response(status=204)  # never sent: the middleware hangs up instead
    environ[TRANSPORT_FAULT] = ("truncate", rule.spec["truncate"])
    return None


def _after(response: Response) -> Response:
    environ = request.environ
    verdict = environ.get(RATE_VERDICT)
    if verdict is not None:
        for name, value in verdict.headers().items():
            response.headers[name] = value
    face = _face(environ)
    if face in JOURNALED and services().controls.journal.enabled:
        try:
            params = _multi(request.values)
            if face != "command":
                params.update(_json_body())
        except Exception:  # noqa: BLE001 - an unreadable body (too large, malformed) leaves no parameters
            params = {}
        environ[PARAMS] = redact(params)
        if face == "oauth" and response.status_code == 200:
            environ[ACCOUNT] = _presented_client_id(face)
    return response


def _finish(app: Flask, environ: dict, status: int | None, seconds: float) -> None:
    """Record a finished request: metrics, the request log line, the journal entry. Never raises."""
    config = app.config
    face = _face(environ)
    action = environ.get(ACTION)
    try:
        if config["METRICS"]:
            metrics.observe(face or "other", _metric_action(face, action), status, seconds)
        if config["REQUEST_LOG"]:
            log_request({
                "request_id": environ.get(REQUEST_ID),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO", "")[:512],
                "face": face,
                "action": action,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "account": environ.get(ACCOUNT),
                "fault": environ.get(FAULT),
            })
        if face in JOURNALED and TS in environ:
            app.extensions["gateway"].controls.journal.record({
                "ts": environ[TS],
                "request_id": environ[REQUEST_ID],
                "face": face,
                "method": environ.get("REQUEST_METHOD", "")[:16],
                "path": environ.get("PATH_INFO", "")[:1024],
                "action": action,
                "account": environ.get(ACCOUNT),
                "params": environ.get(PARAMS, {}),
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "fault": environ.get(FAULT),
            })
    except Exception:  # noqa: BLE001 - recording must never break an answered request
        app.logger.exception("could not record request %s", environ.get(REQUEST_ID))


class ControlledAuthenticator(Authenticator):
    """The bearer/legacy authenticator, plus what the controls need once the caller is known:
    the account for the journal and logs, and the rate limit of the command and JSON faces."""

    def __init__(self, accounts, controls):
        super().__init__(accounts)
        self.controls = controls

    def __call__(self, params, has_authorization):
        account = super().__call__(params, has_authorization)
        environ = request.environ
        environ[ACCOUNT] = account.client_id
        limiter = self.controls.rate_limits
        if limiter.settings.enabled and _face(environ) in RATE_LIMITED:
            verdict = environ[RATE_VERDICT] = limiter.hit(account.client_id)
            if verdict.limited:
                raise RateLimitedError(
                    f"Rate limit exceeded: at most {verdict.limit} requests per {verdict.period} for this API account; "
                    f"retry in {verdict.retry_after} s.",
                    headers=verdict.headers(),
                )
        return account


def init_app(app: Flask) -> None:
    """Install the middleware and hooks (call before other before_request hooks are registered)."""
    app.wsgi_app = ControlsMiddleware(app.wsgi_app, partial(_finish, app))
    app.before_request(_before)
    app.after_request(_after)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics.blueprint)
