"""The app factory: a Flask app serving every face of one gateway, built from its services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from gateway import config as gateway_config
from gateway import faces, http_errors, web
from gateway.api import clients as inspect_views
from gateway.api import events as events_views
from gateway.api import feed as feed_views
from gateway.api import openapi as openapi_views
from gateway.api import sessions as session_views
from gateway.api.admin import blueprint as admin_blueprint
from gateway.command import fast as command_fast
from gateway.command import versions as command_versions
from gateway.command import views as command_views
from gateway.controls import Controls, health, metrics
from gateway.controls import hooks as controls_hooks
from gateway.oauth import server as oauth_server
from gateway.services import build_services
from gateway.ui import blueprint as ui_blueprint

#: Request bodies larger than this are refused with 413 (command parameters and token requests are small).
MAX_CONTENT_LENGTH = 1 << 20

#: Every blueprint with the face of its routes (gateway.faces); the OAuth one is registered by its server.
BLUEPRINTS = (
    (command_views.actions, faces.COMMAND),
    (command_views.blueprint, faces.APPLIANCE),
    (admin_blueprint, faces.ADMIN),
    (feed_views.blueprint, faces.JSON),
    (inspect_views.blueprint, faces.JSON),
    (events_views.blueprint, faces.JSON),
    (session_views.blueprint, faces.JSON),
    (openapi_views.blueprint, faces.JSON),
    (ui_blueprint, faces.UI),
    (health.blueprint, faces.PROBES),
    (metrics.blueprint, faces.PROBES),
)


class GatewayFlask(Flask):
    """Flask, deciding once per view or hook whether it is a coroutine function: Flask asks ``inspect`` again
    for each of the six functions every request runs, and all of ours are plain functions. ``ensure_sync`` is
    Flask's documented override point for how views run. Measured: about 5% of the CPU of a one-client
    command request in process (318 -> 303 us), and the bench's one-client ratio fell from 0.73-0.77x to
    0.66-0.69x without it (stop 21's closing note)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        sync = self._sync.get(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync) < 1024:  # views and hooks: a fixed set, whatever the requests
                self._sync[func] = sync
        return sync


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a gateway app: defaults, then GATEWAY_* environment, then ``config``."""
    app = GatewayFlask("gateway")  # the package's name: its logger and root path, as before gateway.app
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.config.update(gateway_config.settings(config))
    command_versions.profile(app.config["API_VERSION"])  # an unknown API version fails here, not per request
    for name in gateway_config.unknown_names():
        app.logger.warning("%s is no setting of the gateway and is ignored (docs/configuration.md).", name)

    services = app.extensions["gateway"] = build_services(app.config)
    # Kept documents answered before Flask, inside the controls' middleware, which records every request.
    app.wsgi_app = command_fast.KeptDocuments(app.wsgi_app, services, app.config)  # type: ignore[method-assign]
    controls_hooks.init_app(app)
    _load_controls(app, services.controls)
    oauth_server.init_app(app, services.accounts)
    openapi_views.init_app(app)  # the JSON face's blueprints, registered by its flask-smorest Api
    web.register_blueprints(app, [*BLUEPRINTS, (app.blueprints["oauth"], faces.OAUTH)])
    http_errors.init_app(app)
    app.after_request(web.no_sniffing)
    app.after_request(web.reason_phrase)
    return app


def _load_controls(app: Flask, controls: Controls) -> None:
    """Take the shared clock and controls now (CLI commands read the clock); a database that is not
    migrated yet (``gateway db upgrade`` builds an app first) is loaded on the first request instead."""
    try:
        controls.reload()
    except Exception:
        app.logger.debug("controls not loaded at startup", exc_info=True)
