"""connected-clients gateway: an emulator of the BeyondTrust Remote Support command API.

The package itself imports nothing: the ``gateway`` command and the pytest plugin (loaded by every pytest
run in the environment) start without Flask, SQLAlchemy, lxml or Authlib. The app factory is gateway.app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a gateway app: defaults, then GATEWAY_* environment, then ``config`` (see gateway.app)."""
    from gateway.app import create_app as build

    return build(config)
