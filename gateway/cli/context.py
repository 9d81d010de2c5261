"""What a ``gateway`` command runs on: the settings and the gateway's services, built on first use through
``build_services(config)`` (no Flask app), and only by the commands that need them, so that ``gateway
--help`` and bad input fail fast without touching the database.

A command that uses the database never creates it: a missing SQLite file or a schema that was never
created (or is older than this gateway) is an error that says to run ``gateway db upgrade``; only ``db
upgrade`` (and ``serve``) ask for ``services(create=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gateway.services import Services


class CliError(click.ClickException):
    """An error a user fixes: the message names the setting, file or command to fix (no traceback)."""


@dataclass
class CliState:
    """The root group's ``ctx.obj``. Tests may hand one in with ``config`` (a settings mapping) or
    ``services`` already built; Flask's test runner hands in its ScriptInfo (``app``: that app's config and
    services are used)."""

    debug: bool = False
    config: Mapping[str, Any] | None = None
    prebuilt: Services | None = None
    load_app: Callable[[], Any] | None = None
    _services: Services | None = field(default=None, repr=False)

    def settings(self) -> Mapping[str, Any]:
        if self.config is None:
            if self.load_app is not None:
                self.config = self.load_app().config
            else:
                from gateway.config import settings

                self.config = settings()
        return self.config

    def database_url(self) -> str | None:
        """The configured database (None: the settings themselves are wrong)."""
        from gateway.config import ConfigError

        try:
            return str(self.settings()["DATABASE_URL"])
        except ConfigError:
            return None

    def services(self, *, create: bool = False) -> Services:
        if self.prebuilt is not None:
            return self.prebuilt
        if self.load_app is not None:
            services: Services = self.load_app().extensions["gateway"]
            return services
        if self._services is None:
            self._services = _build(self.settings(), create=create)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.store.close()
            self._services = None


def state() -> CliState:
    return click.get_current_context().ensure_object(CliState)


def config() -> Mapping[str, Any]:
    """The running command's settings (defaults, GATEWAY_* environment)."""
    return state().settings()


def services(*, create: bool = False) -> Services:
    """The running command's services, on a database whose schema is current (``create``: the database and
    its schema may still have to be made, as ``db upgrade`` does)."""
    return state().services(create=create)


def database_name(url: str) -> str:
    """The database of ``url`` without its credentials (host/name or the SQLite path)."""
    return url.rsplit("@", 1)[-1]


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None: another engine, or an in-memory database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _build(settings: Mapping[str, Any], *, create: bool) -> Services:
    from gateway.services import build_services
    from gateway.storage import migrate

    url = settings["DATABASE_URL"]
    file = sqlite_file(url)
    if file is not None and not create and not file.exists():
        raise CliError(
            f"The database {file} does not exist (GATEWAY_DATABASE_URL={database_name(url)}, "
            f"from {Path.cwd()}): create it with `gateway db upgrade`."
        )
    services = build_services(settings)
    if create:
        return services
    try:
        current, head = migrate.current_revision(services.store), migrate.head_revision()
    except BaseException:
        services.store.close()
        raise
    if current != head:
        services.store.close()
        found = "has no schema" if current is None else f"is at revision {current}, this gateway needs {head}"
        raise CliError(f"The database {database_name(url)} {found}: run `gateway db upgrade`.")
    services.controls.reload()  # the shared clock and controls, as a served request sees them
    return services
