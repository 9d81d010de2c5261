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
