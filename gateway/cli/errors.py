"""Any exception a command lets out, as the one or two lines a user needs (the setting, file or command to
fix); ``gateway --debug`` shows the traceback instead."""

from __future__ import annotations

from gateway.config import ConfigError
from gateway.errors import GatewayError, StorageUnavailableError

DEBUG_HINT = "(`gateway --debug ...` shows the traceback)"


def describe(exc: BaseException, database_url: str | None = None) -> str:
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, StorageUnavailableError):
        return _unavailable(exc, database_url)
    if isinstance(exc, GatewayError):
        return exc.message
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if _is_driver_error(exc):
        return _unavailable(exc, database_url)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Unexpected error: {type(exc).__name__}{': ' + first if first else ''} {DEBUG_HINT}"


def _is_driver_error(exc: BaseException) -> bool:
    """SQLAlchemy's DBAPIError wraps whatever the driver raised (named by module, so this imports nothing)."""
    return type(exc).__module__.startswith("sqlalchemy.exc") and hasattr(exc, "orig")


def _unavailable(exc: BaseException, database_url: str | None) -> str:
    from gateway.cli.context import database_name

    cause = exc.__cause__ if exc.__cause__ is not None else exc
    reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()
    where = f" {database_name(database_url)}" if database_url else ""
    detail = f" ({reason[0]})" if reason and reason[0] else ""
    return (
        f"The database{where} cannot be used{detail}.\n"
        "Check GATEWAY_DATABASE_URL and that the server is running; `gateway db upgrade` creates the schema."
    )
