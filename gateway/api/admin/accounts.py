"""Admin routes for API accounts, so that a test harness can make credentials on a running gateway."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf

from gateway.errors import InvalidRequestError
from gateway.api.auth import ADMIN, requires
from gateway.api.input import json_body
from gateway.oauth.models import COMMAND_PERMISSIONS
from gateway.web import services
from gateway.api.admin import blueprint


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
def accounts_list():
    return {"accounts": [a.public() for a in services().accounts.list()]}


@blueprint.route("/accounts", methods=["POST"])
@requires(ADMIN)
def accounts_create():
    """Create an API account; the answer holds its client secret, shown this once."""
    args = json_body(AccountSchema())
    try:
        creds = services().accounts.create(args.pop("name"), args.pop("permission"), **args)
    except ValueError as exc:
        raise InvalidRequestError(f"name: {exc}", details={"field": "name"}) from None
    return creds.public(), 201
