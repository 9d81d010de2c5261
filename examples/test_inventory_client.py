"""Testing a small integration against the gateway with its pytest plugin (the ``gateway`` fixture)."""

from __future__ import annotations

import pytest
import requests
from inventory_client import CommandError, InventoryClient

APPLIANCE = {
    "id": "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00",
    "name": "support",
    "hostname": "support.example.com",
    "public_hostname": "support.example.com",
}


def representative(client_id: int, username: str, sessions: int) -> dict:
    """A representative in the fixture format (what POST /api/v1/clients accepts), in ``sessions``
    sessions."""
    return {
        "id": client_id,
        "type": "representative",
        "hostname": f"ws-{username}",
        "platform": "Windows 11",
        "platform_id": "winNT-64",
        "timezone_offset": 0,
        "connected_since": 1_790_000_000,
        "representative": {
            "user_id": client_id,
            "username": username,
            "support_session_lsids": [f"{client_id:016x}{n:016x}" for n in range(sessions)],
        },
        "connections": [
            {"appliance_id": APPLIANCE["id"], "connected_since": 1_790_000_000, "private_ip": "10.0.0.1"}
        ],
    }


@pytest.fixture
def inventory(gateway):
    gateway.load_clients(
        appliances=[APPLIANCE], clients=[representative(7, "jsmith", 2), representative(8, "akhan", 0)]
    )
    creds = gateway.account("read_only")
    naps = []
    client = InventoryClient(gateway.url, creds.client_id, creds.client_secret, sleep=naps.append)
    return client, creds, naps


def test_lists_representatives_with_one_token_and_one_call(gateway, inventory):
    client, creds, _ = inventory
    assert client.representatives() == [
        {"username": "jsmith", "sessions": 2},
        {"username": "akhan", "sessions": 0},
    ]
    calls = gateway.journal(account=creds)
    assert [(c["action"], c["status"]) for c in calls] == [("token", 200), ("get_connected_clients", 200)]
    assert calls[1]["params"] == {"action": "get_connected_clients", "type": "representative"}


def test_backs_off_on_503_and_429_as_told(gateway, inventory):
    client, _, naps = inventory
    gateway.fault(action="get_connected_clients", error=503, times=1)
    gateway.fault(action="get_connected_clients", rate_limit=7, times=1)
    assert len(client.representatives()) == 2
    assert naps == [1, 7], "no Retry-After on the 503 means 1 s; the 429 said 7"
    statuses = [c["status"] for c in gateway.journal(action="get_connected_clients")]
    assert statuses == [503, 429, 200]


def test_reauthenticates_once_when_the_token_expires(gateway, inventory):
    client, creds, _ = inventory
    client.representatives()
    gateway.clock.advance(3601)  # every token issued so far has expired
    client.representatives()
    assert [c["action"] for c in gateway.journal(account=creds)] == [
        "token",
        "get_connected_clients",
        "token",
        "get_connected_clients",
    ]
    assert [c["status"] for c in gateway.journal(action="get_connected_clients")] == [200, 401, 200]


def test_reports_appliance_errors_and_dropped_connections(gateway, inventory):
    client, _, _ = inventory
    gateway.fault(
        action="get_connected_clients", error={"status": 200, "message": "Appliance is busy"}, times=1
    )
    with pytest.raises(CommandError, match="Appliance is busy"):
        client.representatives()
    gateway.fault(action="get_connected_clients", drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        client.representatives()
    assert client.representatives()[0]["username"] == "jsmith"
