"""Admin routes for API accounts, so that a test harness can make credentials on a running gateway."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf

from gateway.api.admin import answers, blueprint
from gateway.api.auth import ADMIN, requires
from gateway.api.blueprint import errors
from gateway.errors import InvalidRequestError
from gateway.oauth.models import COMMAND_PERMISSIONS
from gateway.web import services


class AccountSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=Length(1, 128))
    permission = fields.String(load_default="read_only", validate=OneOf(COMMAND_PERMISSIONS))
    feed = fields.Boolean(load_default=False)
    admin = fields.Boolean(load_default=False)
    legacy_login = fields.Boolean(load_default=False)


@blueprint.route("/accounts", methods=["GET"])
@requires(ADMIN)
@answers()
def accounts_list():
    """API accounts"""
    return {"accounts": [a.public() for a in services().accounts.list()]}


@blueprint.route("/accounts", methods=["POST"])
@requires(ADMIN)
@blueprint.arguments(AccountSchema)
@answers(201)
@errors(409)
def accounts_create(args: dict):
    """Create an API account (its secret shown once)"""
    try:
        creds = services().accounts.create(args.pop("name"), args.pop("permission"), **args)
    except ValueError as exc:
        raise InvalidRequestError(f"name: {exc}", details={"field": "name"}) from None
    # the answer carries the secret: no cache along the way may keep it
    return creds.public(), 201, {"Cache-Control": "no-store"}
