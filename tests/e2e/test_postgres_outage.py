"""PostgreSQL goes away and comes back under a running gateway (real gunicorn, real PostgreSQL).

A TCP proxy between the gateway and the server stages the outage, so the shared server keeps running:
cut (a stopped server: connections close, new ones are refused), blackhole (a hung server: connections
accepted, never answered), then restored on the same port. The gateway must answer 503 with an error
document in its usual format within the configured timeout, keep its workers, and recover by itself.
"""

from __future__ import annotations

import time

import pytest
import requests
from lxml import etree
from sqlalchemy.engine import make_url

from gateway.config import NAMESPACE_PRESETS
from tests.conftest import assert_wire_body
from tests.server import prepare, start
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

NAMESPACE = NAMESPACE_PRESETS["beyondtrust"]
DB_TIMEOUT = 2  # seconds: GATEWAY_DB_TIMEOUT of the node (libpq's minimum connect timeout)
SLACK = 1.5  # seconds of scheduling slack on a busy two-core machine


@pytest.fixture
def proxied(postgres_url):
    """(credentials, URL of the same database through the proxy, the proxy)."""
    creds = prepare(postgres_url, admin=True)
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host, target.port or 5432).start()
    yield creds, target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    proxy.close()


def node(tmp_path, url: str, **kwargs):
    env = {"GATEWAY_DATABASE_URL": url, "GATEWAY_DB_TIMEOUT": str(DB_TIMEOUT)}
    return start(env, tmp_path / "gunicorn.log", **kwargs)


def get_token(base: str, creds) -> requests.Response:
    return requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
        timeout=30,
    )


def command(base: str, token: str) -> requests.Response:
    response = requests.get(
        f"{base}/api/command",
        params={"action": "get_connected_clients"},
        headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        timeout=30,
    )
    assert_wire_body(response.status_code, response.headers["Content-Type"], response.content, NAMESPACE)
    return response


def admin_index(base: str, token: str) -> requests.Response:
    return requests.get(f"{base}/api/v1/admin/", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def assert_unavailable_xml(response: requests.Response, elapsed: float, limit: float) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{NAMESPACE}}}error" and "unavailable" in root.text
    assert response.headers.get("Retry-After") == "1"
    assert elapsed < limit, f"answered after {elapsed:.1f}s"


def assert_unavailable_json(response: requests.Response) -> None:
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "storage_unavailable"


def timed(call, *args):
    began = time.monotonic()
    response = call(*args)
    return response, time.monotonic() - began


def test_outage_answers_503_keeps_workers_and_recovers(tmp_path, proxied):
    creds, url, proxy = proxied
    server = node(tmp_path, url)
    try:
        token = get_token(server.url, creds).json()["access_token"]
        assert command(server.url, token).status_code == 200
        assert admin_index(server.url, token).status_code == 200
        workers = sorted(server.wait_for_workers(2))  # start() waits for the first worker only

        proxy.cut()
        for _ in range(4):  # more requests than workers, so every worker meets the outage
            response, elapsed = timed(command, server.url, token)
            assert_unavailable_xml(response, elapsed, DB_TIMEOUT + SLACK)
        assert_unavailable_json(admin_index(server.url, token))
        assert_unavailable_json(get_token(server.url, creds))
        health = requests.get(f"{server.url}/check_health", timeout=30)
        assert health.status_code == 500 and "unavailable" in health.text

        proxy.blackhole()
        for _ in range(2):
            response, elapsed = timed(command, server.url, token)
            assert_unavailable_xml(response, elapsed, DB_TIMEOUT + SLACK)

        proxy.restore()
        assert command(server.url, token).status_code == 200, "the first request after the return succeeds"
        assert all(command(server.url, token).status_code == 200 for _ in range(6))
        assert get_token(server.url, creds).status_code == 200
        assert requests.get(f"{server.url}/check_health", timeout=30).status_code == 200
        assert server.process.poll() is None
        assert sorted(server.worker_pids()) == workers, "no worker died or was replaced"
    finally:
        server.stop()


def test_node_started_during_an_outage_serves_once_the_database_returns(tmp_path, proxied):
    creds, url, proxy = proxied
    proxy.cut()
    server = node(tmp_path, url, healthy=False)
    try:
        assert requests.get(f"{server.url}/check_health", timeout=30).status_code == 500
        response, _elapsed = timed(get_token, server.url, creds)
        assert_unavailable_json(response)
        workers = sorted(server.wait_for_workers(2))  # start() waits for the first worker only
        time.sleep(1)
        assert sorted(server.worker_pids()) == workers and server.process.poll() is None, "no crash loop"

        proxy.restore()
        token = get_token(server.url, creds).json()["access_token"]
        assert command(server.url, token).status_code == 200
        assert sorted(server.worker_pids()) == workers
    finally:
        server.stop()
