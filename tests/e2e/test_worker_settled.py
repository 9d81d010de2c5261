"""What a gateway worker works out once instead of for every request (gateway/worker.py: gunicorn's settings,
the Date header, whether a peer may set forwarding headers) still answers as gunicorn would."""

from __future__ import annotations

import ipaddress
import time
from email.utils import formatdate

import pytest
import requests

from gateway import worker
from tests.server import serving

pytestmark = pytest.mark.e2e

#: Scheme headers that contradict each other: gunicorn refuses them (400) from a peer it trusts to set them,
#: and ignores them from any other.
CONTRADICTORY = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "off"}


def test_the_date_header_follows_the_clock(tmp_path, migrated_sqlite):
    server = serving(tmp_path, migrated_sqlite, {"GATEWAY_REQUEST_LOG": "false"}, workers=1)
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:  # until the header has changed twice
            before = int(time.time())
            date = requests.get(f"{server.url}/check_health", timeout=10).headers["Date"]
            after = int(time.time())
            assert date in {formatdate(second, usegmt=True) for second in range(before, after + 1)}
            seen.add(date)
        assert len(seen) == 3
    finally:
        server.stop()


@pytest.mark.parametrize("allowed, status", [(None, 400), ("10.9.9.9", 200)])
def test_forwarding_headers_count_from_allowed_peers_only(tmp_path, migrated_sqlite, allowed, status):
    env = {"GATEWAY_REQUEST_LOG": "false"}
    if allowed:
        env["FORWARDED_ALLOW_IPS"] = allowed  # gunicorn's setting: this test's loopback peer is not in it
    server = serving(tmp_path, migrated_sqlite, env, workers=1)
    try:
        for _ in range(3):  # the first request from the address, and the remembered answer
            answer = requests.get(f"{server.url}/check_health", headers=CONTRADICTORY, timeout=10)
            assert answer.status_code == status
            assert requests.get(f"{server.url}/check_health", timeout=10).status_code == 200
    finally:
        server.stop()


def test_a_remembered_peer_check_is_one_of_its_allow_list():
    def check(address: str, allowed: list[str]) -> bool:
        return worker._ip_in_allow_list(address, allowed, [ipaddress.ip_network(a) for a in allowed])

    for _ in range(2):
        assert check("10.1.2.3", ["10.0.0.0/8"]) is True
        assert check("10.1.2.3", ["127.0.0.1", "::1"]) is False
        assert check("::1", ["127.0.0.1", "::1"]) is True


def test_answers_sent_with_their_headers_are_framed_whole_on_a_kept_connection(tmp_path, migrated_sqlite):
    """A small answer's headers and body leave in one write, a larger one's body in gunicorn's own writes,
    a HEAD's headers alone: on one kept connection, each answer is whole and nothing runs into the next."""
    from gateway.config import settings
    from gateway.seeding import demo
    from gateway.services import build_services
    from tests.e2e.test_keepalive import _Connection

    server = serving(
        tmp_path, migrated_sqlite, {"GATEWAY_REQUEST_LOG": "false", "GATEWAY_KEEPALIVE": "60"}, 1
    )
    svc = build_services(settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}"}))
    try:
        svc.registry.replace_population(*demo.build(1_790_000_000))
        small = "/api/command?action=get_connected_clients&id=12&include_connections=1"
        full = "/api/command?action=get_connected_clients&include_connections=1"
        conn = _Connection(server.url)
        bodies: dict[str, bytes] = {}
        for path in (small, full, small, full, "/api/command?action=get_api_info"):  # rendered, then kept
            status, headers, body = conn.ask(path, server.token)
            assert (status, headers["connection"]) == (200, "keep-alive")
            assert bodies.setdefault(path, body) == body
        assert len(bodies[full]) > 4 * worker.ONE_WRITE > len(bodies[small]) > 0
        conn.sock.sendall(
            f"HEAD {small} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n\r\n".encode()
        )
        while b"\r\n\r\n" not in conn.buffer:
            conn.buffer += conn._more()
        head, _, conn.buffer = conn.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {len(bodies[small])}".encode() in head
        assert conn.ask(small, server.token)[2] == bodies[small]  # no body bytes followed the HEAD's headers
        conn.close()
    finally:
        svc.store.close()
        server.stop()
