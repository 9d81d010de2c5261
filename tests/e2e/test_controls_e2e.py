"""End to end on real gunicorn workers: a control changed through one worker holds on every worker from
the next request; counters (every Nth, rate limits, metrics, journal) add up across workers; dropped and
truncated answers really happen on the socket."""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
from urllib.parse import urlsplit

import pytest
import requests

from gateway.clock import Clock
from gateway.oauth.accounts import AccountService
from gateway.registry.service import Registry
from gateway.storage import open_store
from gateway.storage.migrate import head_revision, upgrade
from gateway.xml.clients import render_client
from tests import populations
from tests.conftest import assert_wire_body
from tests.controls.test_controls_observability import sample
from tests.server import start

pytestmark = pytest.mark.e2e
NAMESPACE = "https://www.beyondtrust.com/namespaces/API/command"


class Harness:
    """A gateway on three workers, an admin account and a read_only one."""

    def __init__(self, server, admin, reader):
        self.server, self.admin_creds, self.reader_creds = server, admin, reader
        self.base = server.url
        self.bearer = token(self.base, reader)
        self.admin_token = token(self.base, admin)

    def admin(self, method: str, path: str, **kwargs) -> dict:
        """An admin call; a new admin token when the clock has expired the old one."""
        for attempt in (1, 2):
            response = requests.request(
                method,
                f"{self.base}/api/v1/admin{path}",
                timeout=10,
                headers={"Authorization": f"Bearer {self.admin_token}"},
                **kwargs,
            )
            if response.status_code == 401 and attempt == 1:
                self.admin_token = token(self.base, self.admin_creds)
                continue
            assert response.status_code in (200, 201), response.text
            return response.json()


@pytest.fixture
def gateway(tmp_path):
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    store = open_store(url)
    upgrade(store)
    populations.load(Registry(store, Clock(), render_client))
    accounts = AccountService(store, Clock())
    admin, reader = accounts.create("admin", "deny", admin=True), accounts.create("reader", "read_only")
    store.close()
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=3)
    try:
        assert len(server.wait_for_workers(3)) == 3
        yield Harness(server, admin, reader)
    finally:
        server.stop()


def token(base: str, creds) -> str:
    response = requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def fresh_connections(
    base: str, bearer: str, count: int, action: str = "get_api_info"
) -> list[requests.Response]:
    """``count`` calls, each on a new connection (so the kernel spreads them over the workers)."""
    responses = []
    for _ in range(count):
        response = requests.get(
            f"{base}/api/command",
            params={"action": action},
            headers={"Authorization": f"Bearer {bearer}", "Connection": "close"},
            timeout=10,
        )
        assert_wire_body(response.status_code, response.headers["Content-Type"], response.content, NAMESPACE)
        responses.append(response)
    return responses


def test_controls_hold_on_every_worker_at_once(gateway):
    base, bearer, admin_call = gateway.base, gateway.bearer, gateway.admin
    rule = admin_call("POST", "/faults", json={"match": {"action": "get_api_info"}, "error": {"status": 503}})
    assert {r.status_code for r in fresh_connections(base, bearer, 12)} == {503}
    admin_call("DELETE", f"/faults/{rule['id']}")
    assert {r.status_code for r in fresh_connections(base, bearer, 12)} == {200}

    admin_call(
        "POST", "/faults", json={"match": {"action": "check_health"}, "error": {"status": 502}, "every": 3}
    )
    statuses = [r.status_code for r in fresh_connections(base, bearer, 30, "check_health")]
    assert statuses == [200, 200, 502] * 10, "the Nth is counted across workers"
    admin_call("DELETE", "/faults")

    admin_call("POST", "/clock/freeze")
    admin_call("PUT", "/ratelimit", json={"enabled": True, "per_second": 10})

    def call(_):
        return requests.get(
            f"{base}/api/command",
            params={"action": "get_api_info"},
            headers={"Authorization": f"Bearer {bearer}", "Connection": "close"},
            timeout=10,
        )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        limited = list(pool.map(call, range(30)))
    assert sorted(r.status_code for r in limited) == [200] * 10 + [429] * 20, "one shared counter"
    assert all(r.headers["X-RateLimit-Limit"] == "10" for r in limited)
    assert all(r.headers["Retry-After"] == "1" for r in limited if r.status_code == 429)
    admin_call("DELETE", "/ratelimit")

    admin_call("POST", "/clock/advance", json={"seconds": 3700})
    assert {r.status_code for r in fresh_connections(base, bearer, 9)} == {401}, "every worker's clock moved"
    admin_call("POST", "/controls/reset")
    assert {r.status_code for r in fresh_connections(base, bearer, 9)} == {200}


def test_journal_metrics_and_logs_add_up_across_workers(gateway):
    server, base, bearer = gateway.server, gateway.base, gateway.bearer
    before = requests.get(f"{base}/metrics", timeout=10).text
    responses = fresh_connections(base, bearer, 20)
    after = requests.get(f"{base}/metrics", timeout=10).text
    labels = {"face": "command", "action": "get_api_info", "status": "200"}
    assert (
        sample(after, "gateway_requests_total", **labels) - sample(before, "gateway_requests_total", **labels)
        == 20
    )
    assert sample(after, "gateway_connected_clients", type="push_agent") == 1
    entries = gateway.admin("GET", "/journal", params={"action": "get_api_info"})["entries"]
    assert [e["request_id"] for e in entries] == [r.headers["X-Request-ID"] for r in responses], (
        "each call is in the journal before its client has the answer"
    )
    assert requests.get(f"{base}/readyz", timeout=10).json() == {"status": "ready", "schema": head_revision()}
    server.stop()
    logged = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith('{"time"')]
    assert {r.headers["X-Request-ID"] for r in responses} <= {line["request_id"] for line in logged}


def raw_get(base: str, path: str, bearer: str) -> bytes:
    """Everything the server sends for one request, until it closes the connection."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {bearer}\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_dropped_and_truncated_answers_on_the_socket(gateway):
    server, base, bearer = gateway.server, gateway.base, gateway.bearer
    gateway.admin("POST", "/faults", json={"match": {"action": "get_api_info"}, "drop": True, "times": 1})
    assert raw_get(base, "/api/command?action=get_api_info", bearer) == b"", "no status line at all"
    gateway.admin("POST", "/faults", json={"match": {"action": "token"}, "drop": True, "times": 1})
    with pytest.raises(requests.ConnectionError):
        token(base, gateway.reader_creds)
    assert token(base, gateway.reader_creds), "the rule was spent"
    gateway.admin(
        "POST", "/faults", json={"match": {"action": "get_connected_clients"}, "truncate": {"fraction": 0.25}}
    )
    received = raw_get(base, "/api/command?action=get_connected_clients&include_connections=1", bearer)
    head, _, body = received.partition(b"\r\n\r\n")
    declared = int(re.search(rb"(?i)content-length: (\d+)", head)[1])
    assert head.startswith(b"HTTP/1.1 200") and declared > 2000 and len(body) == declared // 4
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(
            f"{base}/api/command",
            params={"action": "get_connected_clients"},
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
        )
    log = server.log.read_text()
    assert "Traceback" not in log and "Error handling request" not in log
