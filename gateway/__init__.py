"""connected-clients gateway: an emulator of the BeyondTrust Remote Support command API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config as gateway_config
from . import http_errors
from .clock import Clock
from .admin import blueprint as admin_blueprint
from .command.views import blueprint as command_blueprint
from .inspect import representation
from .inspect.feed import blueprint as feed_blueprint
from .oauth import server as oauth_server
from .oauth.accounts import AccountService
from .oauth.bearer import Authenticator
from .registry.service import Registry
from .services import Services
from .storage import open_store
from .xml.clients import render_client

#: Request bodies larger than this are refused with 413 (command parameters and token requests are small).
MAX_CONTENT_LENGTH = 1 << 20


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a gateway app: defaults, then GATEWAY_* environment, then ``config``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    gateway_config.load(app.config, config)

    store = open_store(app.config["DATABASE_URL"], sqlite_busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    clock = Clock()
    accounts = AccountService(store, clock, app.config["TOKEN_LIFETIME"], app.config["TOKEN_CAP"])
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
        authenticate=Authenticator(accounts),
    )
    oauth_server.init_app(app, accounts)
    app.register_blueprint(command_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(feed_blueprint)
    http_errors.init_app(app)
    return app
