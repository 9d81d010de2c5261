"""Reset and seed: ``POST /api/v1/admin/reset`` clears the registry (keeping or dropping the API
accounts) and loads a named fixture, in one transaction; ``GET /api/v1/admin/fixtures`` lists them."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from gateway.api.auth import ADMIN, requires
from gateway.api.input import json_body
from gateway.seeding import fixtures
from gateway.web import services
from gateway.api.admin import blueprint


class ResetSchema(Schema):
    keep_accounts = fields.Boolean(truthy={True}, falsy={False}, load_default=True)
    fixture = fields.String(load_default="empty")


@blueprint.route("/reset", methods=["POST"])
@requires(ADMIN)
def reset():
    args = json_body(ResetSchema(), optional=True)
    return fixtures.reset(services().registry, args["fixture"], drop_accounts=not args["keep_accounts"],
                          configured=current_app.config["FIXTURES_DIR"])


@blueprint.route("/fixtures", methods=["GET"])
@requires(ADMIN)
def list_fixtures():
    return {"fixtures": fixtures.names(current_app.config["FIXTURES_DIR"])}
