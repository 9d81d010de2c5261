"""One exception root for every error the gateway reports on the wire.

Each error carries the HTTP status, a short wire code and a human message. The faces render them:
the command API as XML ``<error>`` (nested in the action's root for list actions), the OAuth and
JSON APIs as ``{"error": code, "message": text}``.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

_E = TypeVar("_E", bound="GatewayError")


class GatewayError(Exception):
    status = 500
    code = "server_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
        operation: int | None = None,
        root: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}
        #: Machine-readable context for the JSON faces, e.g. ``{"field": "id"}``.
        self.details = details or {}
        #: In a batch of registry operations, the index of the one this error is about (None: not known).
        self.operation = operation
        #: The command face: the list action's root element the XML ``<error>`` is nested in (None: bare).
        self.root = root

    def with_operation(self: _E, index: int) -> _E:
        """This error, about the operation at ``index`` of a batch (a copy; this one is unchanged)."""
        error = copy.copy(self)
        error.operation = index
        return error

    def within(self: _E, root: str | None) -> _E:
        """This error nested in the command action's root element ``root`` (a copy; this one is unchanged)."""
        nested = copy.copy(self)
        nested.root = root
        return nested


class InvalidRequestError(GatewayError):
    """A JSON-face request that cannot be accepted; ``details`` names the offending field."""

    status = 400
    code = "invalid_request"


class ParameterError(GatewayError):
    """A parameter a real appliance would reject: HTTP 200 with an <error> body."""

    status = 200
    code = "invalid_parameter"


class UnknownActionError(GatewayError):
    status = 200
    code = "invalid_action"


class AuthenticationError(GatewayError):
    status = 401
    code = "invalid_token"

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="api"'})
        super().__init__(message, **kwargs)


class PermissionDeniedError(GatewayError):
    status = 403
    code = "insufficient_permission"


class NotFoundError(GatewayError):
    status = 404
    code = "not_found"


class MethodNotAllowedError(GatewayError):
    status = 405
    code = "method_not_allowed"


class RequestTooLargeError(GatewayError):
    status = 413
    code = "request_too_large"


class UnsupportedMediaTypeError(GatewayError):
    status = 415
    code = "unsupported_media_type"


class ConflictError(GatewayError):
    status = 409
    code = "conflict"


class RateLimitedError(GatewayError):
    """Too many requests (a rate limit or an injected 429); ``headers`` carry Retry-After."""

    status = 429
    code = "rate_limited"


class StorageUnavailableError(GatewayError):
    status = 503
    code = "storage_unavailable"


class TooManyStreamsError(GatewayError):
    """This worker already serves as many live event streams as it may (GATEWAY_STREAMS_PER_WORKER)."""

    status = 503
    code = "too_many_streams"


class InternalError(GatewayError):
    status = 500
    code = "server_error"
