"""Bearer-token checks for the JSON face: the same tokens and accounts as the command API.

``@requires(READ)`` admits read_only and full_access accounts (as the command API's get_* actions);
``@requires(FEED)`` accounts with the feed permission; ``@requires(ADMIN)`` accounts with the admin one.
Errors render as JSON ``{"error", "message"}`` (401 / 403) through gateway.http_errors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request

from gateway.errors import PermissionDeniedError
from gateway.oauth.models import Account
from gateway.web import services

READ = "read"
FEED = "feed"
ADMIN = "admin"


def allowed(account: Account, permission: str) -> bool:
    if permission == READ:
        return account.permission in ("read_only", "full_access")
    if permission == FEED:
        return account.feed
    if permission == ADMIN:
        return account.admin
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
                raise PermissionDeniedError(f"The API account {account.name!r} lacks the {permission} permission.")
            return view(*args, **kwargs)

        return wrapper

    return decorator
