"""Reset and seed: ``POST /api/v1/admin/reset`` clears the registry (keeping or dropping the API
accounts) and loads a named fixture, in one transaction; ``GET /api/v1/admin/fixtures`` lists them."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from gateway.api.admin import answers, blueprint
from gateway.api.auth import ADMIN, requires
from gateway.api.blueprint import errors
from gateway.seeding import fixtures
from gateway.web import services


class ResetSchema(Schema):
    keep_accounts = fields.Boolean(truthy={True}, falsy={False}, load_default=True)
    fixture = fields.String(load_default="empty")


@blueprint.route("/reset", methods=["POST"])
@requires(ADMIN)
@blueprint.arguments(ResetSchema, required=False)
@answers()
@errors(404)
def reset(args: dict):
    """Reset the registry to a named fixture"""
    return fixtures.reset(
        services().registry,
        args["fixture"],
        drop_accounts=not args["keep_accounts"],
        configured=current_app.config["FIXTURES_DIR"],
        sessions=services().sessions,
    )


@blueprint.route("/fixtures", methods=["GET"])
@requires(ADMIN)
@answers()
def list_fixtures():
    """Named fixtures"""
    return {"fixtures": fixtures.names(current_app.config["FIXTURES_DIR"])}
