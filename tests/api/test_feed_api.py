"""The feed API: connect, update, events, disconnect and batches, seen through both faces."""

from __future__ import annotations

import pytest

from gateway.registry.model import ClientQuery
from tests import populations
from tests.feeding import bearer, snapshot
from tests.xmlutil import local, parse

PRIMARY, TRAFFIC = populations.PRIMARY, populations.TRAFFIC


def rep_body(user_id: int = 7, **extra) -> dict:
    return {
        "type": "representative",
        "hostname": "WS-JSMITH",
        "platform": "Windows 11 Enterprise (x64)",
        "platform_id": "winNT-64",
        "timezone_offset": -18000,
        "connected_since": 1_789_996_400,
        "representative": {
            "user_id": user_id,
            "username": f"user{user_id}",
            "public_display_name": "Jo S.",
            "private_display_name": "Jo Smith",
            "support_session_lsids": ["a" * 32],
        },
        "connections": [
            {"appliance_id": PRIMARY, "private_ip": "10.1.2.3"},
            {
                "appliance_id": TRAFFIC,
                "purpose": "traffic",
                "receive_traffic_node": True,
                "connected_since": 1_789_996_402,
            },
        ],
        "events": [
            {"ts": 1_789_996_400, "kind": "connect", "text": "Connected to support.example.com as primary"}
        ],
        **extra,
    }


def customer_body(**extra) -> dict:
    return {
        "type": "support_customer",
        "hostname": "DESKTOP-1",
        "platform": "Windows 10 Pro (x64)",
        "platform_id": "winNT-64",
        "name": "Zoë O'Brien",
        "lsid": "a" * 32,
        "connections": [{"appliance_id": PRIMARY, "receive_traffic_node": 1}],
        **extra,
    }


def named_body(ctype: str, **extra) -> dict:
    return {
        "type": ctype,
        "hostname": "jp-dc1",
        "platform": "Debian GNU/Linux 12 (x86_64)",
        "platform_id": "linux-x86_64",
        "name": "Jumpoint DC1",
        **extra,
    }


@pytest.fixture
def xml(command):
    def get(**params):
        response = command("get_connected_clients", **params)
        assert response.status_code == 200
        return parse(response.data)

    return get


def test_connect_each_type_then_the_xml_face_serves_it(client, feed, xml, svc):
    bodies = [
        rep_body(),
        customer_body(non_interactive="shelljump"),
        named_body("presentation_attendee"),
        named_body("push_agent"),
    ]
    ids = []
    for body in bodies:
        response = client.post("/api/v1/clients", json=body, headers=feed)
        assert response.status_code == 201, response.get_json()
        created = response.get_json()
        assert response.headers["Location"] == f"/api/v1/clients/{created['id']}"
        assert created["type"] == body["type"] and created["connected"] is True
        ids.append(created["id"])
    assert ids == [1, 2, 3, 4], "ids are assigned increasing, as the appliance does"
    root = xml(include_connections=1)
    assert [local(c) for c in root] == [
        "connected_representative",
        "connected_support_customer",
        "connected_presentation_attendee",
        "connected_push_agent",
    ]
    rep = root[0]
    ns = {"n": rep.nsmap[None]}
    assert rep.findtext("n:username", namespaces=ns) == "user7"
    assert rep.findtext("n:support_session_count", namespaces=ns) == "1", "defaults to the number of lsids"
    assert [
        c.findtext("n:purpose", namespaces=ns)
        for c in rep.iterfind("n:client_connections/n:client_connection", ns)
    ] == ["primary", "traffic"]
    assert (
        rep.find("n:client_connections/n:client_connection/n:connected_since", ns).get("ts") == "1789996400"
    ), "a connection starts with its client unless told"
    assert root[1].findtext("n:non_interactive", namespaces=ns) == "shelljump"
    assert [a.id for a in svc.registry.appliances()] == [PRIMARY, TRAFFIC], (
        "placeholders for unknown appliances"
    )


def test_a_caller_given_id_is_kept_and_a_connected_one_conflicts(client, feed, svc):
    assert client.post("/api/v1/clients", json=customer_body(id=500), headers=feed).get_json()["id"] == 500
    before = snapshot(svc)
    clash = client.post("/api/v1/clients", json=named_body("push_agent", id=500), headers=feed)
    assert clash.status_code == 409 and clash.get_json()["details"]["field"] == "id"
    assert snapshot(svc) == before
    assert client.post("/api/v1/clients", json=customer_body(), headers=feed).get_json()["id"] == 1
    assert client.post("/api/v1/clients/500/disconnect", json={}, headers=feed).status_code == 200
    again = client.post("/api/v1/clients", json=named_body("push_agent", id=500), headers=feed)
    assert again.status_code == 201, "an id is unique only while connected"


def test_update_fields_rerenders_both_faces(client, feed, xml, command):
    client.post("/api/v1/clients", json=rep_body(), headers=feed)
    response = client.patch(
        "/api/v1/clients/1",
        json={
            "hostname": "WS-NEW",
            "representative": {"public_display_name": "Jo N.", "support_session_lsids": ["b" * 32, "c" * 32]},
        },
        headers=feed,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["hostname"] == "WS-NEW" and body["representative"]["support_session_count"] == 2
    assert body["representative"]["username"] == "user7", "representative fields merge"
    rep = xml(id=1)[0]
    ns = {"n": rep.nsmap[None]}
    assert rep.findtext("n:hostname", namespaces=ns) == "WS-NEW"
    assert [e.text for e in rep.iterfind("n:support_session_lsids/n:lsid", ns)] == ["b" * 32, "c" * 32]
    reps = parse(command("get_logged_in_reps").data)
    assert reps[0].findtext("n:public_display_name", namespaces=ns) == "Jo N."
    assert reps[0].findtext("n:support_session_count", namespaces=ns) == "2"


def test_update_replaces_connections_keeping_their_times(client, feed, xml):
    client.post("/api/v1/clients", json=rep_body(), headers=feed)
    moved = client.patch(
        "/api/v1/clients/1",
        json={
            "connections": [
                {"appliance_id": PRIMARY, "private_ip": "10.1.2.3"},
                {
                    "appliance_id": "11111111-2222-4333-8444-555555555555",
                    "purpose": "traffic",
                    "connected_since": 1_789_999_000,
                },
            ]
        },
        headers=feed,
    )
    assert moved.status_code == 200
    conns = moved.get_json()["connections"]
    assert conns[0]["connected_since"] == 1_789_996_400 and conns[1]["connected_since"] == 1_789_999_000
    summary = xml(include_connections=1)[0]
    assert len(summary.findall(".//{*}client_connection")) == 2


@pytest.mark.parametrize(
    "ctype, fields, field",
    [
        ("support_customer", {"representative": {"username": "x"}}, "representative"),
        ("representative", {"lsid": "a" * 32}, "lsid"),
        ("representative", {"name": "x"}, "name"),
        ("push_agent", {"non_interactive": "rdp"}, "non_interactive"),
        (
            "representative",
            {"representative": {"support_session_count": 5}},
            "representative.support_session_count",
        ),
        (
            "representative",
            {"connections": [{"appliance_id": PRIMARY}, {"appliance_id": TRAFFIC}]},
            "connections.1.purpose",
        ),
    ],
)
def test_updates_that_do_not_fit_the_client_are_refused(client, feed, svc, ctype, fields, field):
    body = {
        "representative": rep_body(),
        "support_customer": customer_body(),
        "push_agent": named_body("push_agent"),
    }[ctype]
    client.post("/api/v1/clients", json=body, headers=feed)
    before = snapshot(svc)
    response = client.patch("/api/v1/clients/1", json=fields, headers=feed)
    assert response.status_code == 400 and response.get_json()["details"]["field"] == field
    assert snapshot(svc) == before


def test_events_keep_the_whole_history_and_the_xml_face_the_last_20(client, feed, xml, svc):
    client.post("/api/v1/clients", json=named_body("push_agent"), headers=feed)
    one = client.post(
        "/api/v1/clients/1/events",
        json={"text": "Failed to connect to traffic node x", "kind": "failure"},
        headers=feed,
    )
    assert one.status_code == 200 and one.get_json()["events"][-1]["kind"] == "failure"
    many = client.post(
        "/api/v1/clients/1/events",
        json={"events": [{"ts": 1_790_000_000 + i, "text": f"event {i}"} for i in range(30)]},
        headers=feed,
    )
    assert many.status_code == 200
    assert [e["text"] for e in many.get_json()["events"]] == [f"event {i}" for i in range(10, 30)]
    log = xml(include_connections=1)[0].find("{*}client_connections/{*}event_log")
    assert [e.text for e in log] == [f"event {i}" for i in range(10, 30)]
    stored = svc.store.registry.list_clients(ClientQuery(), with_events=True)[0]
    assert len(stored.events) == 31, "the full history stays for the inspection API"


def test_disconnect_keeps_history_hides_the_client_and_logs_why(client, feed, xml, svc, command):
    client.post("/api/v1/clients", json=rep_body(), headers=feed)
    client.post("/api/v1/clients", json=customer_body(), headers=feed)
    response = client.post(
        "/api/v1/clients/1/disconnect", json={"reason": "Logged out", "initiator": "client"}, headers=feed
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["connected"] is False and body["disconnect_reason"] == "Logged out"
    assert (
        body["disconnect_initiator"] == "client"
        and body["events"][-1]["text"] == "Disconnected by the client: Logged out"
    )
    assert [c.get("id") for c in xml()] == ["2"]
    assert len(parse(command("get_logged_in_reps").data)) == 0
    assert svc.store.registry.count_clients(connected=False) == 1
    network = client.post("/api/v1/clients/2/disconnect", headers=feed)
    assert network.status_code == 200 and network.get_json()["disconnect_initiator"] == "client"
    gone = client.post("/api/v1/clients/2/disconnect", json={"initiator": "network"}, headers=feed)
    assert gone.status_code == 404 and gone.get_json()["details"]["field"] == "id"
    assert client.patch("/api/v1/clients/2", json={"hostname": "x"}, headers=feed).status_code == 404
    assert client.post("/api/v1/clients/2/events", json={"text": "x"}, headers=feed).status_code == 404


def test_logged_in_reps_follow_two_consoles_of_one_user(client, feed, command):
    client.post("/api/v1/clients", json=rep_body(connected_since=1_789_990_000), headers=feed)
    client.post("/api/v1/clients", json=rep_body(connected_since=1_789_980_000), headers=feed)
    reps = parse(command("get_logged_in_reps").data)
    assert len(reps) == 1 and reps[0].find("{*}logged_in_since").get("ts") == "1789980000"
    client.post("/api/v1/clients/2/disconnect", headers=feed)
    reps = parse(command("get_logged_in_reps").data)
    assert len(reps) == 1 and reps[0].find("{*}logged_in_since").get("ts") == "1789990000"


def test_a_batch_is_all_or_nothing(client, feed, svc, xml):
    ok = client.post(
        "/api/v1/batch",
        json={
            "operations": [
                {"op": "connect", "client": rep_body(id=10)},
                {"op": "connect", "client": customer_body(id=11)},
                {"op": "update", "id": 10, "fields": {"representative": {"routing_busy": True}}},
                {"op": "events", "id": 11, "events": [{"text": "Session accepted"}]},
                {"op": "disconnect", "id": 11, "reason": "done", "initiator": "server"},
            ]
        },
        headers=feed,
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["results"] == [
        {"op": "connect", "id": 10, "connected": True},
        {"op": "connect", "id": 11, "connected": True},
        {"op": "update", "id": 10, "connected": True},
        {"op": "events", "id": 11, "connected": True},
        {"op": "disconnect", "id": 11, "connected": False},
    ]
    before = snapshot(svc)
    failed = client.post(
        "/api/v1/batch",
        json={
            "operations": [
                {"op": "connect", "client": customer_body()},
                {"op": "events", "id": 10, "events": [{"text": "ok so far"}]},
                {"op": "update", "id": 99, "fields": {"hostname": "nobody"}},
            ]
        },
        headers=feed,
    )
    assert failed.status_code == 404
    assert (
        failed.get_json()["details"]["field"] == "operations.2.id"
        and "operations[2]" in failed.get_json()["message"]
    )
    assert snapshot(svc) == before
    invalid = client.post(
        "/api/v1/batch",
        json={
            "operations": [
                {"op": "connect", "client": customer_body()},
                {"op": "update", "id": 10, "fields": {"lsid": "x"}},
            ]
        },
        headers=feed,
    )
    assert invalid.status_code == 400 and invalid.get_json()["details"]["field"] == "operations.1.lsid"
    assert snapshot(svc) == before
    assert [c.get("id") for c in xml()] == ["10"]


def test_changes_log_every_accepted_write_in_order(client, feed, svc):
    client.post("/api/v1/clients", json=customer_body(), headers=feed)
    client.patch("/api/v1/clients/1", json={"name": "Zoe"}, headers=feed)
    client.post("/api/v1/clients/1/events", json={"text": "x"}, headers=feed)
    client.post("/api/v1/clients/1/disconnect", json={"reason": "bye", "initiator": "network"}, headers=feed)
    client.patch("/api/v1/clients/1", json={"name": "refused"}, headers=feed)
    changes = svc.registry.changes_after(0)
    assert [(c.kind, c.client_id) for c in changes] == [
        ("connect", 1),
        ("update", 1),
        ("event", 1),
        ("disconnect", 1),
    ]
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert changes[0].payload["client"]["name"] == "Zoë O'Brien"
    assert changes[1].payload["fields"] == ["name"] and changes[1].payload["client"]["name"] == "Zoe"
    assert changes[2].payload["events"][0]["text"] == "x"
    assert changes[3].payload["initiator"] == "network" and changes[3].payload["reason"] == "bye"
    assert [c.kind for c in svc.registry.changes_after(changes[1].seq, limit=1)] == ["event"]


def test_appliances_can_be_put(client, feed, svc):
    body = {
        "name": "support",
        "hostname": "support.example.com",
        "cluster_role": "primary",
        "pinned_clients": 3,
    }
    assert client.put(f"/api/v1/appliances/{PRIMARY}", json=body, headers=feed).status_code == 201
    replaced = client.put(f"/api/v1/appliances/{PRIMARY}", json={**body, "name": "renamed"}, headers=feed)
    assert replaced.status_code == 200 and replaced.get_json()["public_hostname"] == "support.example.com"
    assert [a.name for a in svc.registry.appliances()] == ["renamed"]
    assert (
        client.put("/api/v1/appliances/not-a-guid", json=body, headers=feed).get_json()["details"]["field"]
        == "id"
    )
    other = client.put(f"/api/v1/appliances/{PRIMARY}", json={**body, "id": TRAFFIC}, headers=feed)
    assert other.status_code == 400 and other.get_json()["details"]["field"] == "id"


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/clients"),
        ("patch", "/api/v1/clients/1"),
        ("post", "/api/v1/clients/1/events"),
        ("post", "/api/v1/clients/1/disconnect"),
        ("post", "/api/v1/batch"),
        ("put", f"/api/v1/appliances/{PRIMARY}"),
        ("post", "/api/v1/import/xml"),
    ],
)
def test_every_feed_route_needs_the_feed_permission(client, make_account, get_token, method, path):
    assert getattr(client, method)(path, json={}).status_code == 401
    for account in (make_account("full_access"), make_account("read_only", admin=True)):
        denied = getattr(client, method)(path, json={}, headers=bearer(get_token(account)))
        assert denied.status_code == 403 and denied.get_json()["error"] == "insufficient_permission"


def test_disconnected_clients_are_purged_after_the_retention(app_config, make_account):
    from gateway import create_app

    app = create_app({**app_config, "DISCONNECTED_RETENTION": 60})
    svc = app.extensions["gateway"]
    client = app.test_client()
    creds = svc.accounts.create("feeder", "read_only", feed=True)
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    ).get_json()["access_token"]
    for _ in range(2):
        client.post("/api/v1/clients", json=customer_body(), headers=bearer(token))
    client.post("/api/v1/clients/1/disconnect", headers=bearer(token))
    svc.clock.offset = 30
    client.post("/api/v1/clients/2/events", json={"text": "x"}, headers=bearer(token))
    assert svc.store.registry.count_clients(connected=False) == 1, "kept within the retention"
    svc.clock.offset = 61
    client.post("/api/v1/clients/2/events", json={"text": "x"}, headers=bearer(token))
    assert svc.store.registry.count_clients(connected=False) == 0 and svc.store.registry.count_clients() == 1
    svc.store.close()
