"""Bearer-token checks for the JSON face: the same tokens and accounts as the command API.

``@requires(READ)`` admits read_only and full_access accounts (as the command API's get_* actions);
``@requires(FEED)`` accounts with the feed permission; ``@requires(ADMIN)`` accounts with the admin one.
Errors render as JSON ``{"error", "message"}`` (401 / 403) through gateway.http_errors. The decorator
also documents the operation: its security, who may call it, and the answers any authenticated call may get.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request

from gateway.api.blueprint import described, response_name
from gateway.errors import PermissionDeniedError
from gateway.oauth.models import Account
from gateway.web import services

READ = "read"
FEED = "feed"
ADMIN = "admin"
#: Any enabled account, whatever its permissions (e.g. to say who it is).
ANY = "any"

WHO = {
    READ: "read_only or full_access",
    FEED: "the feed permission",
    ADMIN: "the admin permission",
    ANY: "any permission",
}
#: What every authenticated operation may answer besides its own codes (see gateway.api.openapi).
ACCESS_ERRORS = (401, 403, 429, 503)


def allowed(account: Account, permission: str) -> bool:
    if permission == READ:
        return account.permission in ("read_only", "full_access")
    if permission == FEED:
        return account.feed
    if permission == ADMIN:
        return account.admin
    if permission == ANY:
        return True
    raise ValueError(permission)


def authenticate() -> Account:
    """The calling account (bearer token only: the legacy parameters belong to the command API)."""
    account = getattr(g, "account", None)
    if account is None:
        account = g.account = services().authenticate(request.args, has_authorization=True)
    return account


def requires(permission: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            account = authenticate()
            if not allowed(account, permission):
                raise PermissionDeniedError(
                    f"The API account {account.name!r} lacks the {permission} permission."
                )
            return view(*args, **kwargs)

        return described(
            security=[{"bearer": []}],
            description=f"Needs a bearer token of an account with {WHO[permission]}.",
            responses={status: response_name(status) for status in ACCESS_ERRORS},
        )(wrapper)

    return decorator
