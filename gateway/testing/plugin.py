"""The gateway's pytest plugin: a gateway for the test session, fresh state per test, and helpers for
credentials, clients, faults, the journal, the clock and rate limits.

Installed with the package (entry point ``pytest11``), so a project that depends on the gateway just
asks for the ``gateway`` fixture::

    def test_my_client_retries(gateway):
        creds = gateway.account("read_only")
        gateway.fault(action="get_connected_clients", error=503, times=1)
        ...
        assert [e["status"] for e in gateway.journal(action="get_connected_clients")] == [503, 200]

By default the session starts a gateway in this process on a free port (its own SQLite file). With
``--gateway-url URL`` (or GATEWAY_TEST_URL) the tests use a running gateway instead, through its admin
API: give an admin account with ``--gateway-admin CLIENT_ID:SECRET`` (or GATEWAY_TEST_ADMIN).
Override the ``gateway_config`` fixture to configure the in-process gateway.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gateway.admin_client import AdminCallError, AdminClient, Credentials

__all__ = ["AdminCallError", "Credentials", "Gateway", "Server"]


def pytest_addoption(parser):
    group = parser.getgroup("gateway", "connected-clients gateway")
    group.addoption(
        "--gateway-url",
        default=os.environ.get("GATEWAY_TEST_URL"),
        help="use the running gateway at this URL instead of one started in-process (env GATEWAY_TEST_URL)",
    )
    group.addoption(
        "--gateway-admin",
        default=os.environ.get("GATEWAY_TEST_ADMIN"),
        help="CLIENT_ID:SECRET of an admin API account on --gateway-url (env GATEWAY_TEST_ADMIN)",
    )


def pytest_configure(config):
    admin = config.getoption("--gateway-admin")
    if config.getoption("--gateway-url") and (not admin or ":" not in admin):
        raise pytest.UsageError(
            "--gateway-url needs --gateway-admin CLIENT_ID:SECRET (or GATEWAY_TEST_ADMIN)"
        )


#: Clients per feed batch when loading (the feed takes at most 1000 operations per batch).
FEED_BATCH = 500


class Server(AdminClient):
    """A gateway reachable over HTTP, driven through its admin API."""

    def __init__(self, url: str, admin: Credentials, app=None):
        super().__init__(url, admin)
        #: The Flask app when the gateway runs in this process (None for a remote one).
        self.app = app
        self._names = itertools.count(1)

    def admin_token(self) -> str:
        if self.app is not None:
            # In-process: mint the token directly, so the helpers leave no trace in the journal.
            from gateway.oauth.secrets import new_access_token

            svc = self.app.extensions["gateway"]
            token = new_access_token()
            svc.accounts.save_token(svc.accounts.get(self.admin.client_id), token)
            return token
        return self.token(self.admin)

    # --- state ----------------------------------------------------------------------------------
    def reset(self, fixture: str = "empty") -> None:
        """Fresh state for a test: controls reset, the registry reset to ``fixture`` (API accounts stay)."""
        self.admin_call("POST", "/controls/reset")
        self.admin_call("POST", "/reset", {"keep_accounts": True, "fixture": fixture})

    def load(self, document: dict) -> None:
        """Replace the registry with a fixture document, written through the feed API (the admin account
        needs the feed permission). The document is validated whole first, so a bad one changes nothing."""
        from gateway.seeding import fixtures

        try:
            fixtures.parse(json.dumps({"version": 1, **document}), "json", "load_clients")
        except fixtures.FixtureError as exc:
            raise AdminCallError(exc.message) from None
        self.reset_registry()
        for appliance in document.get("appliances", ()):
            self.feed_call("PUT", f"/api/v1/appliances/{appliance['id']}", appliance)
        clients = list(document.get("clients", ()))
        for start in range(0, len(clients), FEED_BATCH):
            chunk = clients[start : start + FEED_BATCH]
            self.feed_call(
                "POST", "/api/v1/batch", {"operations": [{"op": "connect", "client": c} for c in chunk]}
            )

    def reset_registry(self) -> None:
        self.admin_call("POST", "/reset", {"keep_accounts": True, "fixture": "empty"})

    def feed_call(self, method: str, path: str, body: Any) -> Any:
        """A feed API call with the admin account's token; a new token once when the clock expired it (the
        admin surface checks its tokens against real time, the feed API against the gateway's clock)."""
        for attempt in (1, 2):
            status, answer = self.http(method, path, json_body=body, headers=self.bearer())
            if status == 401 and attempt == 1:
                self._admin_token = None
                continue
            if status not in (200, 201):
                raise AdminCallError(f"{method} {path} answered {status}: {answer}")
            return answer
        raise AssertionError("unreachable")

    def create_account(self, permission: str, **flags) -> Credentials:
        name = flags.pop("name", None) or f"test-{permission}-{os.getpid()}-{next(self._names)}"
        body = self.admin_call("POST", "/accounts", {"name": name, "permission": permission, **flags})
        return Credentials(body["name"], body["client_id"], body["client_secret"])


# --- clients --------------------------------------------------------------------------------------
def _document(appliances, clients) -> dict:
    """A fixture document from model objects (gateway.registry.model) or dicts in the fixture format
    (README, "Fixtures": what POST /api/v1/clients and PUT /api/v1/appliances/<id> accept)."""
    from gateway.registry.model import Appliance, Client
    from gateway.seeding import fixtures

    models = fixtures.document(
        [a for a in appliances if isinstance(a, Appliance)], [c for c in clients if isinstance(c, Client)]
    )
    return {
        "appliances": [a for a in appliances if not isinstance(a, Appliance)] + models["appliances"],
        "clients": [c for c in clients if not isinstance(c, Client)] + models["clients"],
    }


class Clock:
    """The gateway's shared clock (token lifetimes, ``ts`` values, the journal)."""

    def __init__(self, server: Server):
        self._server = server

    def now(self) -> float:
        return self._server.admin_call("GET", "/clock")["now"]

    def advance(self, seconds: float) -> dict:
        return self._server.admin_call("POST", "/clock/advance", {"seconds": seconds})

    def set(self, instant, frozen: bool | None = None) -> dict:
        body = {"time": instant} if frozen is None else {"time": instant, "frozen": frozen}
        return self._server.admin_call("POST", "/clock/set", body)

    def freeze(self) -> dict:
        return self._server.admin_call("POST", "/clock/freeze")

    def unfreeze(self) -> dict:
        return self._server.admin_call("POST", "/clock/unfreeze")

    def reset(self) -> dict:
        return self._server.admin_call("POST", "/clock/reset")


_MATCH = ("face", "action", "account", "path")


def _filters(filters: dict) -> dict:
    if isinstance(filters.get("account"), Credentials):
        filters = {**filters, "account": filters["account"].client_id}
    return filters


class Gateway:
    """What a test gets: the gateway's URL and helpers, on state reset before the test."""

    def __init__(self, server: Server):
        self.server = server
        self.url = server.url
        self.clock = Clock(server)

    # --- credentials ----------------------------------------------------------------------------
    def account(
        self,
        permission: str = "read_only",
        *,
        feed: bool = False,
        admin: bool = False,
        legacy_login: bool = False,
        name: str | None = None,
    ) -> Credentials:
        """A new API account (command permission full_access, read_only or deny; feed and admin flags)."""
        return self.server.create_account(
            permission, feed=feed, admin=admin, legacy_login=legacy_login, name=name
        )

    def token(self, creds: Credentials) -> str:
        """A bearer token of an account, from the token endpoint."""
        return self.server.token(creds)

    # --- clients ---------------------------------------------------------------------------------
    def load_clients(self, clients=(), appliances=()) -> None:
        """Replace the registry with these appliances and connected clients: dicts in the fixture format
        (what POST /api/v1/clients accepts) or gateway.registry.model objects. Written through the feed
        API, so it works on an in-process and a remote gateway alike; bad input fails the test with the
        feed's answer, naming the field."""
        self.server.load(_document(appliances, clients))

    def load_fixture(self, name: str) -> None:
        """Replace the registry with a named fixture (``gateway registry fixtures`` lists them)."""
        self.server.reset(fixture=name)

    # --- faults ----------------------------------------------------------------------------------
    def fault(
        self,
        *,
        error=None,
        latency=None,
        rate_limit=None,
        drop: bool = False,
        reset: bool = False,
        truncate=None,
        dribble=None,
        malformed=None,
        **options,
    ) -> dict:
        """Add a fault rule; returns it (with its id). Shorthands beside the admin API's JSON:

        ``action``/``face``/``account``/``path`` go into ``match`` (``account`` may be Credentials);
        ``error=503`` or ``error={"status": 503, "message": ...}``; ``latency=250`` (ms) or
        ``latency=(100, 900)`` (uniform); ``rate_limit=30`` (429 with Retry-After: 30); ``drop=True``;
        ``reset=True`` (TCP RST); ``truncate=0.5`` (fraction) or ``truncate=100`` (bytes);
        ``dribble=500`` (bytes per second); ``malformed="cut"``, ``"garbage"`` or ``"empty"``;
        ``every``, ``probability``, ``seed``, ``times``, ``for_seconds`` as they are.
        """
        match = dict(options.pop("match", {}))
        for key in _MATCH:
            if key in options:
                value = options.pop(key)
                match[key] = value.client_id if isinstance(value, Credentials) else value
        rule: dict[str, Any] = {"match": match, **options}
        if error is not None:
            rule["error"] = {"status": error} if isinstance(error, int) else dict(error)
        if latency is not None:
            if isinstance(latency, (tuple, list)):
                rule["latency"] = {"min_ms": latency[0], "max_ms": latency[1]}
            else:
                rule["latency"] = {"ms": latency} if isinstance(latency, int) else dict(latency)
        if rate_limit is not None:
            rule["rate_limit"] = (
                {"retry_after": rate_limit} if isinstance(rate_limit, int) else dict(rate_limit)
            )
        if drop:
            rule["drop"] = True
        if reset:
            rule["reset"] = True
        if dribble is not None:
            rule["dribble"] = {"bytes_per_second": dribble} if isinstance(dribble, int) else dict(dribble)
        if malformed is not None:
            rule["malformed"] = {"body": malformed} if isinstance(malformed, str) else dict(malformed)
        if truncate is not None:
            rule["truncate"] = (
                {"fraction": truncate}
                if isinstance(truncate, float)
                else {"bytes": truncate}
                if isinstance(truncate, int)
                else dict(truncate)
            )
        return self.server.admin_call("POST", "/faults", rule)

    def faults(self) -> list[dict]:
        """The fault rules with their match and fire counts."""
        return self.server.admin_call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self.server.admin_call("DELETE", "/faults")

    # --- journal ---------------------------------------------------------------------------------
    def journal(self, **filters) -> list[dict]:
        """Every journal entry matching the filters, oldest first: ``action``, ``account`` (client id or
        Credentials), ``face``, ``status``, ``method``, ``path``, ``request_id``, ``fault``, ``error`` (a
        substring of the error text the answer carried), ``has_error``, ``since``, ``after`` (a seq)."""
        return self.server.journal(**_filters(filters))

    def journal_count(self, **filters) -> int:
        """How many journal entries match (the filters of ``journal``)."""
        return self.server.journal_count(**_filters(filters))

    def verify(self, n: int, **filters) -> list[dict]:
        """Assert that exactly ``n`` journal entries match (the filters of ``journal``) and return them.
        The AssertionError says what was expected, what came, and the closest other entries::

            gateway.verify(1, action="get_connected_clients", status=200)
        """
        return self.server.verify(n, **_filters(filters))

    def wait_for(self, n: int, timeout: float = 10.0, **filters) -> list[dict]:
        """Block until at least ``n`` journal entries match (a long poll on the gateway: it answers as
        soon as they are there) and return them; an AssertionError like ``verify``'s after ``timeout``
        seconds. For clients that call asynchronously::

            start_my_poller()
            gateway.wait_for(3, timeout=5, action="get_connected_clients")
        """
        return self.server.wait_for(n, timeout, **_filters(filters))

    def clear_journal(self) -> None:
        self.server.admin_call("DELETE", "/journal")

    # --- rate limits -----------------------------------------------------------------------------
    def rate_limit(self, enabled: bool = True, **limits) -> dict:
        """Turn per-account rate limits on (``per_second``, ``per_hour``) or off, for every worker."""
        return self.server.admin_call("PUT", "/ratelimit", {"enabled": enabled, **limits})

    def reset(self) -> None:
        """Fresh state now (the fixture does it before every test)."""
        self.server.reset()


def _start_in_process(tmp_dir: Path, config: dict):
    """A gateway on its own SQLite file, served in this process on a free port: (Server, its HTTP server)."""
    from gateway import create_app
    from gateway.storage.migrate import upgrade
    from gateway.testing.servers import InProcessServer

    database = f"sqlite:///{tmp_dir / 'gateway.db'}"
    app = create_app({"DATABASE_URL": database, "REQUEST_LOG": False, **config})
    svc = app.extensions["gateway"]
    upgrade(svc.store)
    creds = svc.accounts.create("pytest-admin", "full_access", feed=True, admin=True)
    http_server = InProcessServer(app)
    admin = Credentials(creds.account.name, creds.account.client_id, creds.client_secret)
    return Server(http_server.url, admin, app), http_server


@pytest.fixture(scope="session")
def gateway_config() -> dict:
    """Extra configuration of the in-process gateway (override in conftest.py), e.g. {"NAMESPACE":
    "bomgar"}."""
    return {}


@pytest.fixture(scope="session")
def gateway_server(request, tmp_path_factory, gateway_config):
    """The session's gateway: in-process on a free port, or the one at --gateway-url."""
    url = request.config.getoption("--gateway-url")
    if url:
        client_id, secret = request.config.getoption("--gateway-admin").split(":", 1)
        yield Server(url, Credentials("admin", client_id, secret))
        return
    server, http_server = _start_in_process(tmp_path_factory.mktemp("gateway"), gateway_config)
    try:
        yield server
    finally:
        http_server.stop()
        server.app.extensions["gateway"].store.close()


@pytest.fixture
def gateway(gateway_server) -> Gateway:
    """The session's gateway with fresh state: no faults, system clock, empty journal, default rate limits,
    and (in-process) no clients."""
    gateway_server.reset()
    return Gateway(gateway_server)
