"""Configuration: defaults in code, then ``GATEWAY_*`` environment variables, then the caller's mapping.

Nothing here is read at import time: :func:`settings` runs in the app factory, and wherever a gateway is
built without an app (the benchmark, the tests).
"""

from __future__ import annotations

import contextlib
import json
import os
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
    # The emulated API version (a profile of gateway/command/versions.py): what get_api_info reports and
    # which actions and elements the command API answers with.
    "API_VERSION": "1.24.1",
    # The company API name get_api_info reports under API versions before 1.24.1 (which removed it).
    "COMPANY_NAME": "example",
    # Byte layout of command-API XML: "pretty" (one element per line, two-space indent, as appliances
    # write it) or "compact" (the whole document on one line after the declaration).
    "XML_LAYOUT": "pretty",
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
    # The operator dashboard (/ui/): off removes it entirely.
    "UI_ENABLED": True,
    # SQLite busy timeout in milliseconds, shared by every worker.
    "SQLITE_BUSY_TIMEOUT_MS": 10000,
    # PostgreSQL: connections each gateway process may hold (workers x this, per node, must fit the
    # server).
    "DB_POOL_SIZE": 5,
    # PostgreSQL: seconds to connect or to wait for a pooled connection before answering 503 (libpq: at
    # least 2).
    "DB_TIMEOUT": 5,
    # PostgreSQL: seconds one statement may run on the server before it is cancelled (and the request gets
    # 503).
    "DB_STATEMENT_TIMEOUT": 15,
    # The request journal (one entry per API call, queried at /api/v1/admin/journal): off for load tests.
    "JOURNAL": True,
    # How many journal entries are kept (the oldest are pruned).
    "JOURNAL_MAX_ENTRIES": 10000,
    # The longest a journal wait (/api/v1/admin/journal/wait) may block, in seconds.
    "JOURNAL_WAIT_MAX_SECONDS": 60.0,
    # How often a journal wait looks for entries other processes wrote (its own process's wake it at once).
    "JOURNAL_WAIT_RECHECK_SECONDS": 0.1,
    # Rate limits per API account (429 with Retry-After); the documented third-party figures are the defaults.
    "RATE_LIMIT": False,
    "RATE_LIMIT_PER_SECOND": 20,
    "RATE_LIMIT_PER_HOUR": 15000,
    # One JSON line per request on stderr (request id, method, path, action, status, duration, account).
    "REQUEST_LOG": True,
    # Serve Prometheus metrics at /metrics.
    "METRICS": True,
    # Most items one list of the JSON face returns for count=-1 ("all").
    "LIST_ALL_MAX": 10000,
    # Seconds a disconnected client stays in the registry (history) before writes purge it.
    "DISCONNECTED_RETENTION": 86400,
    # Newest entries kept in the change log (the live event stream reads it).
    "CHANGES_KEEP": 100_000,
    # Live event streams (GET /api/v1/events): most open at once per worker process (more get 503 +
    # Retry-After), seconds one stream lasts before the client reconnects with Last-Event-ID, seconds
    # between heartbeat comments, seconds between two reads of the change log, and the reconnection delay
    # sent as "retry:" (ms).
    "STREAMS_PER_WORKER": 8,
    "STREAM_MAX_SECONDS": 300.0,
    "STREAM_HEARTBEAT_SECONDS": 15.0,
    "STREAM_POLL_SECONDS": 0.25,
    "STREAM_RETRY_MS": 3000,
    # Largest body of the feed's batch and XML import routes, in bytes (other routes: 1 MiB).
    "FEED_MAX_BODY": 16 << 20,
    # Seconds a client has to send a whole request body (else 408); bodies are read before a request is
    # served.
    "BODY_TIMEOUT": 10.0,
    # Seconds a connection has, once accepted, to send its request line and headers (else it is closed).
    "HEADER_TIMEOUT": 5.0,
    # Connections one client address may hold open at once in one worker process (more are closed unread).
    "MAX_CONNECTIONS_PER_ADDRESS": 12,
    # Requests one kept-alive connection may carry; its last is answered with "Connection: close" (a
    # connection stays with the worker that accepted it: closing now and then spreads them over the workers).
    "KEEPALIVE_REQUESTS": 100,
    # Live event streams one API account may hold at once in one worker process (more get 503).
    "STREAMS_PER_ACCOUNT": 6,
    # Bytes of entries the request journal may hold in all (besides JOURNAL_MAX_ENTRIES); oldest go first.
    "JOURNAL_MAX_BYTES": 32 << 20,
    # Where named fixtures (reset, clients load NAME) are looked up; empty: the package's
    # gateway/seeding/named/.
    "FIXTURES_DIR": "",
    # `gateway serve` / `accounts demo`: fixed credentials of the demo account (CI); empty: generated.
    "DEMO_CLIENT_ID": "",
    "DEMO_CLIENT_SECRET": "",
    # `gateway serve`: a named fixture or a fixture file loaded into an empty registry instead of the demo.
    "BOOT_FIXTURE": "",
    # Log lines on stderr (gunicorn's and the request log): json (one JSON object a line) or text.
    "LOG_FORMAT": "json",
    # Bytes of rendered get_connected_clients documents each worker keeps until the next registry write
    # (0: none), and the largest document it keeps (a larger dump streams from the database every time).
    "DOCUMENT_CACHE_BYTES": 64 << 20,
    "DOCUMENT_CACHE_MAX_DOCUMENT": 32 << 20,
}

#: What each setting of DEFAULTS means, one line each: docs/configuration.md is generated from this and
#: DEFAULTS (tests/docs/test_configuration.py fails when the page drifts or a setting has no line here).
HELP: dict[str, str] = {
    "DATABASE_URL": "The registry: `sqlite:///relative/path`, `sqlite:////absolute/path` or "
    "`postgresql://user@host:5432/database` (libpq parameters in the query) for several nodes.",
    "NAMESPACE": "XML namespace: preset `beyondtrust`, preset `bomgar` (Bomgar-era appliances) or any "
    "absolute URI.",
    "API_VERSION": "The emulated API version: what `get_api_info` reports and which actions and elements "
    "answer "
    "(profiles in gateway/command/versions.py).",
    "COMPANY_NAME": "The company name `get_api_info` reports for API versions before 1.24.1 (which removed "
    "it).",
    "XML_LAYOUT": "`pretty`: one element per line, two-space indent, as appliances write it; `compact`: "
    "the whole "
    "document on one line after the declaration.",
    "PRODUCT_VERSION": "The `check_health` version when the registry has no appliance (or one without a "
    "version).",
    "TOKEN_LIFETIME": "Seconds a token lives (by the gateway's clock, and never past its real expiry).",
    "TOKEN_CAP": "Valid tokens per account before the oldest is evicted.",
    "ALLOW_HTTP": "Serve OAuth over plain HTTP as well as HTTPS.",
    "CONNECTION_CLOSE": "Send `Connection: close` on every command response (the vendor asks clients to "
    "close).",
    "APPLIANCE_ID": "The appliance `check_health` answers for; empty: the registry's first.",
    "VALIDATE_RESPONSES": "Validate every XML answer against the XSD before it leaves (slow; for debugging).",
    "ADMIN_ENABLED": "The admin surface `/api/v1/admin`; off: it answers 404.",
    "UI_ENABLED": "The dashboard `/ui/`; off: it answers 404.",
    "SQLITE_BUSY_TIMEOUT_MS": "How long a SQLite writer waits for the lock, in milliseconds.",
    "DB_POOL_SIZE": "PostgreSQL: connections one gateway process holds (workers x this, per node, must fit "
    "the server).",
    "DB_TIMEOUT": "PostgreSQL: seconds to connect or to wait for a pooled connection before a 503 (libpq: "
    "at least 2).",
    "DB_STATEMENT_TIMEOUT": "PostgreSQL: seconds one statement may run before it is cancelled (and the "
    "request gets 503).",
    "JOURNAL": "Record every API call in the request journal (off for load tests).",
    "JOURNAL_MAX_ENTRIES": "Journal entries kept; the oldest are pruned.",
    "JOURNAL_MAX_BYTES": "Bytes of journal entries kept in all; the oldest go first.",
    "JOURNAL_WAIT_MAX_SECONDS": "The longest one journal wait (`/api/v1/admin/journal/wait`) may block.",
    "JOURNAL_WAIT_RECHECK_SECONDS": "How often a journal wait counts again for entries other processes "
    "wrote.",
    "RATE_LIMIT": "Rate-limit each API account (429 with Retry-After, `X-RateLimit-*` headers).",
    "RATE_LIMIT_PER_SECOND": "Requests per account per second when rate limits are on.",
    "RATE_LIMIT_PER_HOUR": "Requests per account per hour when rate limits are on.",
    "REQUEST_LOG": "One log line per request (request id, method, path, action, status, duration, account).",
    "LOG_FORMAT": "Log lines on stderr, gunicorn's included: `json` (one object a line, with the request "
    "id) or `text`.",
    "METRICS": "Serve Prometheus metrics at `/metrics`.",
    "LIST_ALL_MAX": "Most items one JSON list returns for `count=-1` (all).",
    "DISCONNECTED_RETENTION": "Seconds a disconnected client stays visible to the JSON API before writes "
    "purge it.",
    "CHANGES_KEEP": "Newest entries kept in the change log that live streams read (older resume points get "
    "`resync`).",
    "STREAMS_PER_WORKER": "Live event streams (and journal waits) one worker serves at once; more get 503 "
    "+ Retry-After.",
    "STREAMS_PER_ACCOUNT": "Of those, how many one API account may hold in one worker.",
    "STREAM_MAX_SECONDS": "How long one event stream lasts before the client reconnects with Last-Event-ID.",
    "STREAM_HEARTBEAT_SECONDS": "Seconds without events before a heartbeat comment.",
    "STREAM_POLL_SECONDS": "Seconds between two reads of the change log by one stream (the delivery delay).",
    "STREAM_RETRY_MS": "The `retry:` reconnection delay sent to stream clients, in milliseconds.",
    "FEED_MAX_BODY": "Largest body of `POST /api/v1/batch` and `/api/v1/import/xml` (and of imported "
    "files), in bytes; "
    "other routes take 1 MiB.",
    "BODY_TIMEOUT": "Seconds a client has to send a whole request body (else 408).",
    "HEADER_TIMEOUT": "Seconds a connection has, once accepted, to send its request line and headers (else "
    "it is closed).",
    "MAX_CONNECTIONS_PER_ADDRESS": "Connections one client address may hold open in one worker; a new one "
    "over it replaces the address's least recently used idle kept-alive connection, or is closed unread "
    "(raise it behind a proxy, where every client shares one address).",
    "KEEPALIVE_REQUESTS": "Requests one kept-alive connection may carry; the last is answered with "
    "`Connection: close`, so the client's next connection may go to another worker.",
    "FIXTURES_DIR": "Where named fixtures are looked up; empty: the package's `gateway/seeding/named/`.",
    "DEMO_CLIENT_ID": "`gateway serve`: the demo account's client id (known credentials for CI); empty: "
    "generated.",
    "DEMO_CLIENT_SECRET": "`gateway serve`: the demo account's secret (16+ characters, stored hashed); "
    "empty: generated.",
    "BOOT_FIXTURE": "`gateway serve`: a named fixture or a fixture file loaded into an empty registry "
    "instead of the demo.",
    "DOCUMENT_CACHE_BYTES": "Bytes of rendered `get_connected_clients` answers each worker keeps until the "
    "next registry "
    "write (0: none).",
    "DOCUMENT_CACHE_MAX_DOCUMENT": "The largest answer the document cache keeps; larger dumps stream every "
    "time.",
}

#: Settings read outside the app, by gunicorn's configuration (gateway/gunicorn_conf.py) and the commands:
#: name -> (default, meaning). Also generated into docs/configuration.md.
PROCESS_SETTINGS: dict[str, tuple[str, str]] = {
    "BIND": ("127.0.0.1:8080", "Address gunicorn listens on (`gateway serve --bind`)."),
    "WORKERS": (
        "min(4, 2 x cores)",
        "gunicorn worker processes (`gateway serve --workers`); they share the database.",
    ),
    "THREADS": ("16", "Threads per worker (gthread): event streams and journal waits run on them."),
    "WORKER_CLASS": (
        "gthread",
        "gunicorn worker class (`sync` with `GATEWAY_THREADS=1` leaves no room for streams).",
    ),
    "REQUESTS_PER_WORKER": ("1", "Ordinary requests one worker runs at once (streams run beside them)."),
    "WORKER_TIMEOUT": ("60", "Seconds a silent worker may take before gunicorn restarts it."),
    "KEEPALIVE": ("5", "Seconds an idle connection is kept open (0: closed after each response)."),
    "ACCESS_LOG": ("-", "gunicorn's access log: `-` for stderr, a path, or empty for none."),
    "LOG_LEVEL": ("info", "gunicorn's log level (debug, info, warning, error, critical)."),
    "TLS_CERT": ("", "Serve HTTPS with this certificate (`gateway tls init` makes one)."),
    "TLS_KEY": ("", "The certificate's private key."),
    "CONTROL_SOCKET": ("", "A path for gunicorn's control socket; empty: none."),
    "ADMIN_URL": (
        "",
        "Control commands (`faults`, `clock`, `journal`, ...): drive this running gateway instead.",
    ),
    "ADMIN_CLIENT_ID": ("", "Control commands with a URL: the admin account's client id."),
    "ADMIN_CLIENT_SECRET": ("", "Control commands with a URL: the admin account's secret."),
    "FEED_CLIENT_ID": ("", "`gateway simulate --url`: the feed account's client id."),
    "FEED_CLIENT_SECRET": ("", "`gateway simulate --url`: the feed account's secret."),
    "CAPTURE_CLIENT_ID": ("", "`gateway clients capture`: the source appliance's client id."),
    "CAPTURE_CLIENT_SECRET": ("", "`gateway clients capture`: the source appliance's secret."),
    "NEW_CLIENT_SECRET": ("", "`gateway accounts create`: the secret to give the new account."),
    "TEST_URL": ("", "pytest plugin: use this running gateway instead of an in-process one."),
    "TEST_ADMIN": ("", "pytest plugin: that gateway's admin `CLIENT_ID:SECRET`."),
}

#: GATEWAY_* names the project's own test suite reads (not settings of a gateway; not warned about).
TEST_SUITE_NAMES = ("TEST_POSTGRES_URL", "TEST_REQUIRE_BROWSER", "TEST_CHROMIUM", "TEST_CHROMEDRIVER")


def unknown_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The ``GATEWAY_*`` environment variables that are no setting (a misspelt name is silently ignored
    otherwise): what `gateway serve` and the app warn about at start."""
    known = set(DEFAULTS) | set(PROCESS_SETTINGS) | set(TEST_SUITE_NAMES)
    names = os.environ if environ is None else environ
    return sorted(
        name
        for name in names
        if name.startswith("GATEWAY_") and name[len("GATEWAY_") :].split("__")[0] not in known
    )


#: Settings kept as the text given: an id or a secret made of digits is not a number, GATEWAY_API_VERSION=1.10
#: is not 1.1, and GATEWAY_DATABASE_URL=5 is a wrong URL (every setting whose default is text).
TEXT_SETTINGS = tuple(key for key, default in DEFAULTS.items() if isinstance(default, str))
LOG_FORMATS = ("json", "text")
#: The values of GATEWAY_XML_LAYOUT (gateway.xml.document.LAYOUTS; config imports nothing of the package).
XML_LAYOUTS = ("pretty", "compact")

#: Settings that are switches: true/false, 1/0, yes/no, on/off.
BOOLEAN_SETTINGS = (
    "ALLOW_HTTP",
    "CONNECTION_CLOSE",
    "VALIDATE_RESPONSES",
    "ADMIN_ENABLED",
    "UI_ENABLED",
    "JOURNAL",
    "RATE_LIMIT",
    "REQUEST_LOG",
    "METRICS",
)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\"'<>]+$")


def resolve_namespace(value: str) -> str:
    """Return the namespace URI for a preset name or an absolute URI."""
    value = str(value).strip()
    if value.lower() in NAMESPACE_PRESETS:
        return NAMESPACE_PRESETS[value.lower()]
    if not _URI.fullmatch(value):
        raise ConfigError(
            f"GATEWAY_NAMESPACE={value!r} is neither a preset ({', '.join(NAMESPACE_PRESETS)}) "
            "nor an absolute URI"
        )
    return value


_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


def database_url(value: str) -> str:
    """A database URL the gateway can open (its credentials are never repeated in the message)."""
    scheme, separator, _rest = value.partition("://")
    if not separator or scheme.split("+", 1)[0].lower() not in _DATABASE_SCHEMES:
        shown = value.rsplit("@", 1)[-1] if separator else value
        raise ConfigError(
            f"GATEWAY_DATABASE_URL={shown!r} is not a database URL "
            "(sqlite:///relative/path, sqlite:////absolute/path or postgresql://user@host/db)"
        )
    return value


def boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"GATEWAY_{key} must be true or false, not {value!r}")


def environment(prefix: str = "GATEWAY") -> dict[str, Any]:
    """The ``PREFIX_*`` environment variables as settings, read as Flask's ``Config.from_prefixed_env`` reads
    them: values parsed as JSON when they are JSON, else kept as text; ``A__B`` sets key B of mapping A."""
    found: dict[str, Any] = {}
    for name in sorted(os.environ):
        if not name.startswith(prefix + "_"):
            continue
        value: Any = os.environ[name]
        with contextlib.suppress(ValueError):
            value = json.loads(value)
        *parents, tail = name[len(prefix) + 1 :].split("__")
        current = found
        for part in parents:
            current = current.setdefault(part, {})
        current[tail] = value
    return found


def settings(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A gateway's checked configuration: the defaults here, then GATEWAY_* environment, then ``overrides``
    (Flask's own settings may be among them: create_app puts all of it in the app's config)."""
    app_config: dict[str, Any] = dict(DEFAULTS)
    app_config.update(environment())
    for key in TEXT_SETTINGS:
        if f"GATEWAY_{key}" in os.environ:
            app_config[key] = os.environ[f"GATEWAY_{key}"]
    if overrides:
        app_config.update(overrides)
    for key in TEXT_SETTINGS:
        app_config[key] = str(app_config[key]).strip()
    app_config["LOG_FORMAT"] = app_config["LOG_FORMAT"].lower()
    if app_config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"GATEWAY_LOG_FORMAT must be json or text, not {app_config['LOG_FORMAT']!r}")
    database_url(app_config["DATABASE_URL"])
    app_config["NAMESPACE_URI"] = resolve_namespace(app_config["NAMESPACE"])
    app_config["XML_LAYOUT"] = app_config["XML_LAYOUT"].lower()
    if app_config["XML_LAYOUT"] not in XML_LAYOUTS:
        raise ConfigError(
            f"GATEWAY_XML_LAYOUT must be one of {', '.join(XML_LAYOUTS)}, not {app_config['XML_LAYOUT']!r}"
        )
    for key in BOOLEAN_SETTINGS:
        app_config[key] = boolean(key, app_config[key])
    for key in (
        "TOKEN_LIFETIME",
        "TOKEN_CAP",
        "SQLITE_BUSY_TIMEOUT_MS",
        "DB_POOL_SIZE",
        "DB_TIMEOUT",
        "DB_STATEMENT_TIMEOUT",
        "JOURNAL_MAX_ENTRIES",
        "LIST_ALL_MAX",
        "RATE_LIMIT_PER_SECOND",
        "RATE_LIMIT_PER_HOUR",
        "DISCONNECTED_RETENTION",
        "CHANGES_KEEP",
        "FEED_MAX_BODY",
        "STREAMS_PER_WORKER",
        "STREAM_RETRY_MS",
        "MAX_CONNECTIONS_PER_ADDRESS",
        "KEEPALIVE_REQUESTS",
        "STREAMS_PER_ACCOUNT",
        "JOURNAL_MAX_BYTES",
    ):
        try:
            app_config[key] = int(app_config[key])
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"GATEWAY_{key} must be an integer, not {app_config[key]!r}") from None
        if app_config[key] <= 0:
            raise ConfigError(f"GATEWAY_{key} must be positive, not {app_config[key]!r}")
    for key in ("DOCUMENT_CACHE_BYTES", "DOCUMENT_CACHE_MAX_DOCUMENT"):
        try:
            app_config[key] = int(app_config[key])
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"GATEWAY_{key} must be an integer, not {app_config[key]!r}") from None
        if app_config[key] < 0:
            raise ConfigError(f"GATEWAY_{key} must be 0 or more, not {app_config[key]!r}")
    for key in (
        "STREAM_MAX_SECONDS",
        "STREAM_HEARTBEAT_SECONDS",
        "STREAM_POLL_SECONDS",
        "JOURNAL_WAIT_MAX_SECONDS",
        "JOURNAL_WAIT_RECHECK_SECONDS",
        "BODY_TIMEOUT",
        "HEADER_TIMEOUT",
    ):
        try:
            app_config[key] = float(app_config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"GATEWAY_{key} must be a number of seconds, not {app_config[key]!r}") from None
        if not 0 < app_config[key] < 1e6:
            raise ConfigError(f"GATEWAY_{key} must be positive, not {app_config[key]!r}")
    return app_config
