"""The admin surface, /api/v1/admin: controls of the emulator (reset, faults, clock, journal, ...).

It needs the ``admin`` permission and disappears entirely (404) when GATEWAY_ADMIN_ENABLED is false.
Modules add their routes to ``blueprint``.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from gateway.errors import NotFoundError
from gateway.api.auth import ADMIN, requires

blueprint = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


@blueprint.before_request
def _gate():
    if not current_app.config["ADMIN_ENABLED"]:
        raise NotFoundError("The admin API is disabled on this gateway (GATEWAY_ADMIN_ENABLED=false).")


@blueprint.route("/", methods=["GET"])
@requires(ADMIN)
def index():
    """What the admin surface offers (each control module registers its routes on this blueprint)."""
    rules = sorted({r.rule for r in current_app.url_map.iter_rules() if r.endpoint.startswith("admin.")})
    return {"endpoints": rules}


# Route modules register on ``blueprint`` when imported.
from gateway.api.admin import accounts, controls, reset  # noqa: E402,F401
