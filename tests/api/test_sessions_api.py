"""Sessions and teams on the JSON face: reads, redeeming a session key through the feed, session events
on the live stream."""

from __future__ import annotations

import pytest

from gateway.registry.model import ClientType
from tests.sse import events
from tests.xmlutil import parse

SHORT = {"STREAM_MAX_SECONDS": 0.3, "STREAM_POLL_SECONDS": 0.02, "STREAM_HEARTBEAT_SECONDS": 0.1}


@pytest.fixture
def app_config(app_config):
    return {**app_config, **SHORT}


@pytest.fixture
def full(make_account, get_token) -> dict:
    return {"Authorization": f"Bearer {get_token(make_account('full_access'))}"}


def demo_session(clients):
    reps = [c for c in clients if c.type is ClientType.REPRESENTATIVE]
    held = {lsid: rep for rep in reps for lsid in rep.rep.support_session_lsids}
    customer = next(c for c in clients if c.type is ClientType.SUPPORT_CUSTOMER and c.lsid in held)
    return customer, held[customer.lsid]


def test_teams(client, auth, demo_population):
    answer = client.get("/api/v1/teams", headers=auth)
    assert answer.status_code == 200
    teams = answer.get_json()["items"]
    assert [(t["id"], t["queue"]) for t in teams] == [
        (1, "team:1"),
        (2, "team:2"),
        (3, "team:3"),
        (4, "team:4"),
    ]
    assert sum(len(t["members"]) for t in teams) == 40
    assert teams[2]["issues"][0] == {"id": 5, "code_name": "vpn", "description": "VPN connection"}
    assert client.get("/api/v1/teams").status_code == 401


def test_sessions_the_clients_tell_of_and_one_session(client, auth, demo_population):
    customer, rep = demo_session(demo_population[1])
    items = client.get("/api/v1/sessions", headers=auth).get_json()["items"]
    found = next(s for s in items if s["lsid"] == customer.lsid)
    assert found["customer_id"] == customer.id and rep.rep.user_id in found["rep_ids"]
    one = client.get(f"/api/v1/sessions/{customer.lsid}", headers=auth).get_json()
    assert one["queue"] == f"rep:{found['rep_ids'][0]}" and one["chat"] == [] and one["ended_at"] is None
    missing = client.get(f"/api/v1/sessions/{'0' * 32}", headers=auth)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_a_customer_redeems_a_key_through_the_feed(client, command, full, feed, demo_population):
    key = parse(
        command("generate_session_key", method="POST", headers=full, type="support", queue_id="team:2").data
    ).findtext("{*}short_key")
    body = {
        "short_key": key,
        "customer": {
            "hostname": "DESKTOP-4KD81JQ",
            "platform": "Windows 11 Pro (x64)",
            "platform_id": "winNT-64",
            "timezone_offset": 3600,
            "name": "Robin",
            "connections": [],
        },
    }
    answer = client.post("/api/v1/session-keys/redeem", json=body, headers=feed)
    assert answer.status_code == 201, answer.get_json()
    redeemed = answer.get_json()
    lsid = redeemed["session"]["lsid"]
    assert redeemed["client"]["lsid"] == lsid and redeemed["session"]["queue"] == "team:2"
    xml = parse(command("get_connected_clients", id=redeemed["client"]["id"]).data)
    assert xml[0].findtext("{*}lsid") == lsid
    again = client.post("/api/v1/session-keys/redeem", json=body, headers=feed)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_request"
    assert client.post("/api/v1/session-keys/redeem", json=body, headers=full).status_code == 403


def test_session_changes_on_the_live_stream(client, auth, command, full, svc, demo_population):
    customer, _ = demo_session(demo_population[1])
    after = svc.registry.change_bounds()[1]
    command("terminate_session", method="POST", headers=full, lsid=customer.lsid)
    with client.get(
        "/api/v1/events", query_string={"last_event_id": after, "kind": "session"}, headers=auth
    ) as response:
        got = events(response.get_data(as_text=True))
    assert [e["event"] for e in got] == ["session"]
    payload = got[0]["data"]["payload"]
    assert payload["action"] == "terminate" and payload["session"]["lsid"] == customer.lsid
    assert payload["session"]["end_reason"] == "terminated" and payload["session"]["customer_id"] is None
