"""Configuration: defaults in code, then ``GATEWAY_*`` environment variables, then the caller's mapping.

Nothing here is read at import time; :func:`load` runs inside the app factory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NAMESPACE_PRESETS = {
    "beyondtrust": "https://www.beyondtrust.com/namespaces/API/command",
    "bomgar": "http://www.bomgar.com/namespaces/API/command",
}

DEFAULTS: dict[str, Any] = {
    # Storage: sqlite:///relative/path, sqlite:////absolute/path or postgresql://...
    "DATABASE_URL": "sqlite:///var/gateway.db",
    # A preset name from NAMESPACE_PRESETS or any absolute URI.
    "NAMESPACE": "beyondtrust",
    # What get_api_info reports.
    "API_VERSION": "1.24.1",
    "PRODUCT_VERSION": "24.3.1",
    # OAuth: lifetime of a token in seconds and the number of valid tokens an account may hold.
    "TOKEN_LIFETIME": 3600,
    "TOKEN_CAP": 30,
    # Serve plain HTTP next to HTTPS (Authlib refuses http:// otherwise).
    "ALLOW_HTTP": True,
    # Send "Connection: close" after every command response, as the vendor asks clients to do.
    "CONNECTION_CLOSE": False,
    # Which registry appliance answers check_health; empty: the first one.
    "APPLIANCE_ID": "",
    # Validate every XML body against the XSD before it leaves (slow; for debugging integrations).
    "VALIDATE_RESPONSES": False,
    # The admin surface (/api/v1/admin): off removes it entirely.
    "ADMIN_ENABLED": True,
    # SQLite busy timeout in milliseconds, shared by every worker.
    "SQLITE_BUSY_TIMEOUT_MS": 10000,
    # Seconds a disconnected client stays in the registry (history) before writes purge it.
    "DISCONNECTED_RETENTION": 86400,
    # Newest entries kept in the change log (the live event stream reads it).
    "CHANGES_KEEP": 100_000,
    # Largest body of the feed's batch and XML import routes, in bytes (other routes: 1 MiB).
    "FEED_MAX_BODY": 16 << 20,
    # Where named fixtures (reset, clients load NAME) are looked up; empty: the project's examples/.
    "FIXTURES_DIR": "",
}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\"'<>]+$")


def resolve_namespace(value: str) -> str:
    """Return the namespace URI for a preset name or an absolute URI."""
    value = str(value).strip()
    if value.lower() in NAMESPACE_PRESETS:
        return NAMESPACE_PRESETS[value.lower()]
    if not _URI.match(value):
        raise ConfigError(
            f"GATEWAY_NAMESPACE={value!r} is neither a preset ({', '.join(NAMESPACE_PRESETS)}) "
            "nor an absolute URI"
        )
    return value


def load(app_config: dict, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill a Flask config: defaults, then GATEWAY_* environment, then ``overrides``."""
    for key, value in DEFAULTS.items():
        app_config.setdefault(key, value)
    app_config.from_prefixed_env("GATEWAY")
    if overrides:
        app_config.update(overrides)
    app_config["NAMESPACE_URI"] = resolve_namespace(app_config["NAMESPACE"])
    for key in ("TOKEN_LIFETIME", "TOKEN_CAP", "SQLITE_BUSY_TIMEOUT_MS", "DISCONNECTED_RETENTION", "CHANGES_KEEP",
                "FEED_MAX_BODY"):
        try:
            app_config[key] = int(app_config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"GATEWAY_{key} must be an integer, not {app_config[key]!r}") from None
        if app_config[key] <= 0:
            raise ConfigError(f"GATEWAY_{key} must be positive, not {app_config[key]!r}")
