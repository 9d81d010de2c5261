"""Shared fixtures: a fresh app per test on its own database, credentials, and a test client that
validates every XML body it sees against the served XSD."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import psycopg
import pytest
from flask.testing import FlaskClient

from gateway import create_app
from gateway.cli import main
from gateway.config import settings
from gateway.seeding import demo, site
from gateway.services import build_services
from gateway.storage.migrate import upgrade
from gateway.xml import xsd
from tests import browser, postgres

#: Helper modules whose fixtures every test may request by name (the feed's `feed` and `admin` credentials):
#: registered once here, so test modules need not import fixtures (an import that pyflakes sees as unused, and
#: as redefined by each test's argument of the same name).
pytest_plugins = ["tests.feeding"]

#: A fixed "now" for populations whose bytes are compared with golden files.
FIXED_NOW = 1_790_000_000


class ValidatingClient(FlaskClient):
    """A Flask test client that refuses HTML and XSD-invalid XML in any response."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        assert_wire_body(
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.get_data(),
            self.application.config["NAMESPACE_URI"],
            kwargs.get("path") or (args[0] if args else ""),
        )
        return response


def assert_wire_body(status: int, content_type: str, body: bytes, namespace: str, path: str = "") -> None:
    assert "html" not in content_type.lower(), f"HTML reached a client: {body[:200]!r}"
    assert b"Traceback" not in body, body[:500]
    assert status != 500 or str(path).startswith("/check_health"), f"a 500 reached a client: {body[:300]!r}"
    if content_type.startswith("text/xml") and body and not str(path).startswith("/api/command.xsd"):
        xsd.validate(body, namespace)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> str:
    """A migrated SQLite database file, copied for each test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = build_services(settings({"DATABASE_URL": f"sqlite:///{path}"})).store
    upgrade(store)
    store.close()
    return str(path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Report every "PostgreSQL (or Chromium) is not there" skip at one place, so the summary shows it once,
    with a count."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple):
        for helper in (postgres, browser):
            if helper.HOW in str(report.longrepr[2]):
                report.longrepr = (helper.__file__, 1, report.longrepr[2])
    return report


@pytest.fixture(scope="session")
def postgres_server():
    """The PostgreSQL server of GATEWAY_TEST_POSTGRES_URL; PostgreSQL variants skip, saying how to enable
    them, without it."""
    url = os.environ.get(postgres.ENV)
    if not url:
        pytest.skip(f"PostgreSQL variants need a server: {postgres.HOW}")
    try:
        server = postgres.PostgresServer(url)
    except psycopg.Error as exc:
        pytest.skip(
            f"PostgreSQL at {postgres.describe(url)} is not reachable ({' '.join(str(exc).split())[:120]}); "
            f"start it, or run {postgres.HOW}"
        )
    server.drop_abandoned()
    yield server
    server.close()


@pytest.fixture(scope="session")
def migrated_postgres(postgres_server) -> str:
    """The name of the session's migrated PostgreSQL database (see tests/postgres.py)."""
    name = postgres_server.create_migrated("db")
    yield name
    postgres_server.drop(name)


@pytest.fixture
def postgres_url(postgres_server, migrated_postgres) -> str:
    """The migrated PostgreSQL database, emptied for this test (no session of an earlier test survives)."""
    return postgres_server.empty(migrated_postgres)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, migrated_sqlite) -> str:
    """A migrated database of this test's own, once per engine: every test using it runs on both."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    path = tmp_path / "gateway.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_url) -> dict:
    return {"DATABASE_URL": database_url, "TESTING": True}


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = ValidatingClient
    yield app
    app.extensions["gateway"].store.close()


@pytest.fixture
def svc(app):
    return app.extensions["gateway"]


@pytest.fixture
def client(app) -> ValidatingClient:
    return app.test_client()


@pytest.fixture
def namespace(app) -> str:
    return app.config["NAMESPACE_URI"]


@pytest.fixture
def make_account(svc) -> Callable:
    """make_account(permission="read_only", **options) -> Credentials."""
    counter = iter(range(1, 10_000))

    def make(permission: str = "read_only", name: str | None = None, **options):
        return svc.accounts.create(name or f"account-{permission}-{next(counter)}", permission, **options)

    return make


@pytest.fixture
def get_token(client) -> Callable[..., str]:
    def get(creds) -> str:
        response = client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()["access_token"]

    return get


@pytest.fixture
def auth(make_account, get_token) -> dict:
    """Authorization headers of a fresh read_only account."""
    return {"Authorization": f"Bearer {get_token(make_account('read_only'))}"}


@pytest.fixture
def command(client, auth) -> Callable:
    """command(action, method="GET", headers=auth, **params) -> response."""

    def call(
        action: str | None = None,
        method: str = "GET",
        headers: dict | None = None,
        path: str = "/api/command",
        **params,
    ):
        if action is not None:
            params = {"action": action, **params}
        headers = auth if headers is None else headers
        if method == "GET":
            return client.get(path, query_string=params, headers=headers)
        return client.post(path, data=params, headers=headers)

    return call


@pytest.fixture
def demo_population(svc):
    """The demo population, built at a fixed time with the default seed."""
    appliances, clients = demo.build(FIXED_NOW)
    svc.registry.replace_population(appliances, clients)
    svc.sessions.configure_site(*site.site_for(clients))
    return appliances, clients


@pytest.fixture
def admin_auth(make_account, get_token) -> dict:
    """Authorization headers of a fresh account with the admin permission (and nothing else)."""
    return {"Authorization": f"Bearer {get_token(make_account('deny', admin=True))}"}


@pytest.fixture
def cli(app):
    """cli(*args, ok=True) runs the gateway command in the app's context and checks its exit code."""
    runner = app.test_cli_runner()

    def run(*args: str, ok: bool = True, env: dict | None = None):
        result = runner.invoke(main, list(args), catch_exceptions=False, env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


@pytest.fixture
def stored_text(svc):
    """stored_text() -> every row of every table as text, on either engine (to prove secrets never reach
    it)."""
    from sqlalchemy import select

    from gateway.storage.tables import metadata

    def dump() -> str:
        with svc.store.engine.connect() as conn:
            return "\n".join(
                repr(tuple(row)) for table in metadata.sorted_tables for row in conn.execute(select(table))
            )

    return dump
