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

from gateway import faces
from gateway.command.dispatch import ACTIONS
from gateway.controls import metrics
from gateway.controls.faults import FaultRequest, injected_error
from gateway.controls.journal import (
    PARAMS_TEXT,
    PARAMS_TEXT_ANONYMOUS,
    error_text,
    multi,
    redact,
    redact_headers,
)
from gateway.controls.logging import log_request
from gateway.controls.middleware import ControlsMiddleware
from gateway.errors import RateLimitedError
from gateway.faces import Face
from gateway.facts import RequestFacts
from gateway.oauth.accounts import MAX_TOKEN_LENGTH
from gateway.oauth.bearer import Authenticator
from gateway.versions import CONTROLS_VERSION
from gateway.web import bind_facts, services
from gateway.web import face as request_face
from gateway.web import facts as request_facts


def _action(face: Face) -> str | None:
    if face is faces.COMMAND:
        return request.values.get("action", "")[:128] or None
    if face is faces.OAUTH:
        return "token"
    return request.endpoint


def _metric_action(face: Face, action: str | None) -> str:
    """A bounded label: known action names and endpoints only (action names come from clients)."""
    if face is faces.COMMAND:
        return action if action in ACTIONS else ("none" if not action else "unknown")
    return action or "not_found"


def _json_body() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    return body if isinstance(body, dict) else {}


def _presented_client_id(face: Face) -> str | None:
    """Whose credentials a request carries (for faults that match an account); looks a token up only if
    asked."""
    if face is faces.OAUTH:
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
    if face is faces.COMMAND and not header and request.values.get("username"):
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
    facts = bind_facts()
    face = request_face(facts)
    if face.name is None:
        facts.action = request.endpoint
        return None
    if facts.unavailable is not None:
        raise facts.unavailable
    svc = services()
    controls = svc.controls
    controls.sync(svc.versions.refresh()[CONTROLS_VERSION])
    facts.ts = controls.clock.now()
    action = facts.action = _action(face)
    if face is faces.ADMIN or not controls.faults.rules:
        return None
    presented = _lazy(partial(_presented_client_id, face))
    outcome = controls.faults.evaluate(FaultRequest(face.name, action, request.path, presented))
    if outcome.kind is None:
        return None
    metrics.faults_fired(outcome.kind, len(outcome.fired))
    facts.fault = outcome.kind
    if outcome.latency:
        time.sleep(outcome.latency)
    rule = outcome.rule
    if rule is None:
        return None
    if rule.terminal in ("error", "rate_limit"):
        root = ACTIONS[action].root if face is faces.COMMAND and action in ACTIONS else None
        raise injected_error(rule, root)
    if rule.terminal in ("drop", "reset"):
        facts.transport_fault = (rule.terminal, None)
        return Response(status=204)  # never sent: the middleware hangs up instead
    facts.transport_fault = (rule.terminal, rule.spec[rule.terminal])
    return None


def _after(response: Response) -> Response:
    facts = request_facts()
    verdict = facts.rate_limit
    if verdict is not None:
        for name, value in verdict.headers().items():
            response.headers[name] = value
    face = request_face(facts)
    if face in faces.JOURNALED and services().controls.journal.enabled:
        try:
            params = multi(request.values)
            if face is not faces.COMMAND:
                params.update(_json_body())
        except Exception:  # noqa: BLE001 - an unreadable body (too large, malformed) leaves no parameters
            params = {}
        facts.params = redact(params, PARAMS_TEXT if facts.account else PARAMS_TEXT_ANONYMOUS)
        facts.headers = redact_headers(list(request.headers.items()), bool(facts.account))
        if face is faces.OAUTH and response.status_code == 200:
            facts.account = _presented_client_id(face)
        elif face is faces.OAUTH and facts.error is None and response.is_json:
            # the token endpoint's refusals are Authlib's own JSON, not rendered by gateway.http_errors
            body = response.get_json(silent=True)
            if isinstance(body, dict):
                text = body.get("error_description") or body.get("error")
                facts.error = str(text) if text else None
    return response


def _finish(app: Flask, environ: dict, facts: RequestFacts, status: int | None, seconds: float) -> None:
    """Record a finished request: metrics, the request log line, the journal entry. Never raises."""
    config = app.config
    # A request whose hooks never ran (it failed before them) was not routed: its URL space tells its face.
    face = facts.face or faces.of_path(environ.get("PATH_INFO", ""))
    action = facts.action
    try:
        if config["METRICS"]:
            metrics.observe(face.name or "other", _metric_action(face, action), status, seconds)
        if config["REQUEST_LOG"]:
            log_request(
                {
                    "request_id": facts.request_id,
                    "method": environ.get("REQUEST_METHOD"),
                    "path": environ.get("PATH_INFO", "")[:512],
                    "face": face.name,
                    "action": action,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "account": facts.account,
                    "fault": facts.fault,
                },
                config["LOG_FORMAT"],
            )
        if face in faces.JOURNALED and facts.ts is not None:
            app.extensions["gateway"].controls.journal.record(
                {
                    "ts": facts.ts,
                    "request_id": facts.request_id,
                    "face": face.name,
                    "method": environ.get("REQUEST_METHOD", "")[:16],
                    "path": environ.get("PATH_INFO", "")[:1024],
                    "action": action,
                    "account": facts.account,
                    "params": facts.params,
                    "headers": facts.headers,
                    "error": error_text(facts.error),
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "fault": facts.fault,
                }
            )
    except Exception:
        app.logger.exception("could not record request %s", facts.request_id)


class ControlledAuthenticator(Authenticator):
    """The bearer/legacy authenticator, plus what the controls need once the caller is known:
    the account for the journal and logs, and the rate limit of the command and JSON faces."""

    def __init__(self, accounts, controls):
        super().__init__(accounts)
        self.controls = controls

    def __call__(self, params, has_authorization):
        account = super().__call__(params, has_authorization)
        facts = request_facts()
        facts.account = account.client_id
        limiter = self.controls.rate_limits
        if limiter.settings.enabled and request_face(facts) in faces.RATE_LIMITED:
            verdict = facts.rate_limit = limiter.hit(account.client_id)
            if verdict.limited:
                raise RateLimitedError(
                    f"Rate limit exceeded: at most {verdict.limit} requests per {verdict.period} "
                    f"for this API account; retry in {verdict.retry_after} s.",
                    headers=verdict.headers(),
                )
        return account


def init_app(app: Flask) -> None:
    """Install the middleware and hooks (call before other before_request hooks are registered)."""
    # Flask's documented way to wrap the WSGI app replaces the bound method on the instance
    app.wsgi_app = ControlsMiddleware(app.wsgi_app, partial(_finish, app))  # type: ignore[method-assign]
    app.before_request(_before)
    app.after_request(_after)
