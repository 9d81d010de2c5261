"""The admin surface, /api/v1/admin: controls of the emulator (reset, faults, clock, journal, ...).

It needs the ``admin`` permission and disappears entirely (404) when GATEWAY_ADMIN_ENABLED is false.
Modules add their routes to ``blueprint``.
"""

from __future__ import annotations

from flask import current_app

from gateway.api.auth import ADMIN, requires
from gateway.api.blueprint import Blueprint
from gateway.errors import NotFoundError

blueprint = Blueprint(
    "admin",
    __name__,
    url_prefix="/api/v1/admin",
    description='Controls of the emulator (see README, "Emulator controls").',
)
#: What the admin routes answer: objects of the controls, passed on as they are.
ADMIN_OBJECT = {"type": "object", "description": 'See README, "Emulator controls".'}


def answers(status: int = 200):
    """``@blueprint.response`` of an admin route: ``status`` with the object the view returns."""
    return blueprint.response(status, ADMIN_OBJECT)


@blueprint.before_request
def _gate():
    if not current_app.config["ADMIN_ENABLED"]:
        raise NotFoundError("The admin API is disabled on this gateway (GATEWAY_ADMIN_ENABLED=false).")


@blueprint.route("/", methods=["GET"])
@requires(ADMIN)
@answers()
def index():
    """Admin routes"""
    rules = sorted({r.rule for r in current_app.url_map.iter_rules() if r.endpoint.startswith("admin.")})
    return {"endpoints": rules}


# Route modules register on ``blueprint`` when imported.
from gateway.api.admin import accounts, controls, reset  # noqa: E402,F401
