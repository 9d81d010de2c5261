"""What only PostgreSQL has: its URL forms and its server-side limits, seen through the HTTP faces."""

from __future__ import annotations

import psycopg
import pytest

from gateway.errors import StorageUnavailableError
from gateway.registry.model import ClientQuery
from gateway.storage import open_store
from tests.server import free_port

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_every_postgresql_url_form_opens_the_same_database(postgres_url, scheme):
    store = open_store(scheme + postgres_url[postgres_url.index(":") :])
    try:
        store.ping()
        assert store.engine.dialect.driver == "psycopg"
        assert store.accounts.list_accounts() == []
    finally:
        store.close()


@pytest.fixture
def app_config(postgres_url) -> dict:
    return {"DATABASE_URL": postgres_url, "TESTING": True, "DB_STATEMENT_TIMEOUT": 1}


def test_a_statement_past_the_timeout_is_a_503_and_the_next_request_works(client, make_account, postgres_url):
    creds = make_account()
    request = {
        "data": {"grant_type": "client_credentials"},
        "auth": (creds.account.client_id, creds.client_secret),
    }
    with psycopg.connect(postgres_url) as blocker:
        # Another node holds the account's row lock (as while issuing a token) for longer than the timeout.
        blocker.execute("SELECT key FROM accounts WHERE client_id = %s FOR UPDATE", [creds.account.client_id])
        response = client.post("/oauth2/token", **request)
        assert response.status_code == 503
        assert response.get_json()["error"] == "storage_unavailable"
        assert response.headers["Retry-After"] == "1"
    assert client.post("/oauth2/token", **request).status_code == 200


def test_an_unreachable_server_fails_when_a_dump_is_asked_for_not_once_it_streams():
    store = open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/gateway", timeout=2)
    try:
        with pytest.raises(StorageUnavailableError):
            store.registry.iter_fragments(ClientQuery())  # before any byte of a 200 response would leave
        with pytest.raises(StorageUnavailableError):
            store.accounts.get_account("any")
    finally:
        store.close()
