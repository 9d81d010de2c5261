"""connected-clients gateway: an emulator of the BeyondTrust Remote Support command API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from gateway import config as gateway_config
from gateway import http_errors
from gateway.controls import hooks as controls_hooks
from gateway.command.views import blueprint as command_blueprint
from gateway.api import openapi as json_api
from gateway.oauth import server as oauth_server
from gateway.services import build_services
from gateway.ui import blueprint as ui_blueprint

#: Request bodies larger than this are refused with 413 (command parameters and token requests are small).
MAX_CONTENT_LENGTH = 1 << 20


class GatewayFlask(Flask):
    """Flask, deciding once per view or hook whether it is a coroutine function (Flask asks ``inspect`` again
    for each of the five functions every request runs; all of ours are plain functions)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: dict = {}

    def ensure_sync(self, func):
        sync = self._sync.get(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync) < 1024:  # views and hooks: a fixed set, whatever the requests
                self._sync[func] = sync
        return sync


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a gateway app: defaults, then GATEWAY_* environment, then ``config``."""
    app = GatewayFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    gateway_config.load(app.config, config)

    services = app.extensions["gateway"] = build_services(app.config)
    controls_hooks.init_app(app)
    _load_controls(app, services.controls)
    oauth_server.init_app(app, services.accounts)
    app.register_blueprint(command_blueprint)
    json_api.init_app(app)
    app.register_blueprint(ui_blueprint)
    http_errors.init_app(app)
    return app


def _load_controls(app: Flask, controls: Controls) -> None:
    """Take the shared clock and controls now (CLI commands read the clock); a database that is not
    migrated yet (``gateway db upgrade`` builds an app first) is loaded on the first request instead."""
    try:
        controls.reload()
    except Exception:  # noqa: BLE001 - the first request syncs again, and reports an outage properly
        app.logger.debug("controls not loaded at startup", exc_info=True)
