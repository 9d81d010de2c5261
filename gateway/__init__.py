"""connected-clients gateway: an emulator of the BeyondTrust Remote Support command API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config as gateway_config
from . import http_errors
from .clock import Clock
from .admin import blueprint as admin_blueprint
from .controls import Controls
from .controls import hooks as controls_hooks
from .command.views import blueprint as command_blueprint
from .inspect import representation
from .inspect.clients import blueprint as inspect_blueprint
from .inspect.streaming import StreamSlots
from .inspect.events import blueprint as events_blueprint
from .inspect.feed import blueprint as feed_blueprint
from .inspect.openapi import blueprint as openapi_blueprint
from .oauth import server as oauth_server
from .oauth.accounts import AccountService
from .registry.service import Registry
from .services import Services
from .ui import blueprint as ui_blueprint
from .storage import open_store
from .versions import Versions
from .xml.clients import render_client

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

    store = open_store(
        app.config["DATABASE_URL"],
        sqlite_busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        pool_size=app.config["DB_POOL_SIZE"],
        timeout=app.config["DB_TIMEOUT"],
        statement_timeout=app.config["DB_STATEMENT_TIMEOUT"],
    )
    clock = Clock()
    controls = Controls(store, clock, app.config)
    versions = Versions(store)
    accounts = AccountService(store, clock, app.config["TOKEN_LIFETIME"], app.config["TOKEN_CAP"], versions=versions)
    app.extensions["gateway"] = Services(
        store=store,
        clock=clock,
        registry=Registry(
            store,
            clock,
            render=render_client,
            describe=representation.change,
            disconnected_retention=app.config["DISCONNECTED_RETENTION"],
            keep_changes=app.config["CHANGES_KEEP"],
        ),
        accounts=accounts,
        authenticate=controls_hooks.ControlledAuthenticator(accounts, controls),
        controls=controls,
        versions=versions,
        streams=StreamSlots(app.config["STREAMS_PER_WORKER"]),
    )
    controls_hooks.init_app(app)
    _load_controls(app, controls)
    oauth_server.init_app(app, accounts)
    app.register_blueprint(command_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(feed_blueprint)
    app.register_blueprint(inspect_blueprint)
    app.register_blueprint(events_blueprint)
    app.register_blueprint(openapi_blueprint)
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
