"""get_connected_client_list, get_api_info, check_health, get_logged_in_reps, get_appliances."""

from __future__ import annotations

import pytest

from tests import populations
from tests.xmlutil import children, local, parse


@pytest.fixture
def population(svc):
    return populations.load(svc.registry)


def summary(root) -> dict:
    out = {}
    for appliance in root.find("{*}connected_client_summary"):
        out[appliance.get("id")] = {c.get("type"): int(c.text) for c in appliance}
    return out


def test_client_list_summary_and_entries(command, population):
    root = parse(command("get_connected_client_list").data)
    assert children(root) == ["connected_client_summary"] + ["connected_client"] * 5
    assert summary(root) == {
        populations.PRIMARY: {
            "representative": 1,
            "support_customer": 2,
            "presentation_attendee": 1,
            "push_agent": 1,
            "pinned_client": 17,
        },
    }
    entries = [(el.get("type"), int(el.get("id"))) for el in root.iterfind("{*}connected_client")]
    assert entries == [
        ("representative", 101),
        ("support_customer", 102),
        ("support_customer", 103),
        ("presentation_attendee", 104),
        ("push_agent", 105),
    ]
    counts = root.find("{*}connected_client_summary")[0]
    assert [c.get("type") for c in counts] == [
        "representative",
        "support_customer",
        "presentation_attendee",
        "push_agent",
        "pinned_client",
    ]


def test_client_list_type_filter_drops_pinned(command, population):
    root = parse(command("get_connected_client_list", type="support_customer").data)
    assert summary(root) == {populations.PRIMARY: {"support_customer": 2}}
    assert [int(el.get("id")) for el in root.iterfind("{*}connected_client")] == [102, 103]


def test_client_list_summary_only(command, population):
    root = parse(command("get_connected_client_list", summary_only=1, type="all").data)
    assert children(root) == ["connected_client_summary"]


def test_client_list_of_empty_registry(command):
    root = parse(command("get_connected_client_list").data)
    assert children(root) == ["connected_client_summary"] and len(root[0]) == 0


def test_client_list_matches_connected_clients(command, demo_population):
    listed = {
        int(el.get("id"))
        for el in parse(command("get_connected_client_list").data).iterfind("{*}connected_client")
    }
    detailed = {int(el.get("id")) for el in parse(command("get_connected_clients").data)}
    assert listed == detailed
    counted = sum(
        int(c.text)
        for c in parse(
            command(
                "get_connected_client_list",
                type="representative,support_customer,presentation_attendee,push_agent",
            ).data
        ).iter("{*}count")
    )
    assert counted == len(detailed)


def test_api_info(command, svc):
    svc.clock.offset = 0
    before = svc.clock.now_int()
    root = parse(command("get_api_info").data)
    assert children(root) == ["api_version", "timestamp", "permissions"]
    assert root.findtext("{*}api_version") == "1.24.1"
    assert before <= int(root.findtext("{*}timestamp")) <= svc.clock.now_int()


def test_api_info_timestamp_follows_the_clock(command, svc, make_account, get_token):
    svc.clock.offset = 86400
    token = get_token(make_account())
    stamp = int(
        parse(command("get_api_info", headers={"Authorization": f"Bearer {token}"}).data).findtext(
            "{*}timestamp"
        )
    )
    assert stamp >= svc.clock.now_int() - 1


def test_check_health_of_the_primary(command, population):
    root = parse(command("check_health").data)
    assert children(root) == [
        "appliance",
        "version",
        "success",
        "failover_role",
        "enabled_shared_ips",
        "last_data_sync_time",
        "last_data_sync_status",
    ]
    assert root.find("{*}appliance").get("id") == populations.PRIMARY
    assert root.findtext("{*}appliance") == "support.example.com"
    assert root.findtext("{*}success") == "1"
    assert [ip.text for ip in root.find("{*}enabled_shared_ips")] == ["203.0.113.10", "203.0.113.11"]
    assert root.find("{*}last_data_sync_time").get("ts") == str(populations.T0 - 600)


def test_check_health_of_a_configured_traffic_node(app_config, population):
    from gateway import create_app

    app = create_app({**app_config, "APPLIANCE_ID": populations.TRAFFIC})
    svc = app.extensions["gateway"]
    creds = svc.accounts.create("health", "read_only")
    client = app.test_client()
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    ).get_json()["access_token"]
    root = parse(
        client.get("/api/command?action=check_health", headers={"Authorization": f"Bearer {token}"}).data
    )
    assert children(root) == ["appliance", "version", "success", "failover_role"]
    svc.store.close()


def test_check_health_without_appliances(command):
    root = parse(command("check_health").data)
    assert root.findtext("{*}success") == "1" and root.findtext("{*}failover_role") == "none"
    assert root.findtext("{*}version") == "24.3.1"


def test_check_health_version_survives_a_put_without_one(command, client, feed, svc, population):
    """An appliance always runs some software: a PUT that leaves the version out keeps the one it had, and an
    appliance that never had one reports the gateway's product version (GATEWAY_PRODUCT_VERSION)."""
    body = {"name": "support", "hostname": "support.example.com", "cluster_role": "primary"}
    put = client.put(f"/api/v1/appliances/{populations.PRIMARY}", json=body, headers=feed)
    assert put.status_code == 200 and put.get_json()["version"] == "24.3.1 (build 41298)"
    assert parse(command("check_health").data).findtext("{*}version") == "24.3.1 (build 41298)"
    appliances = populations.appliances()
    appliances[0].version = ""
    svc.store.registry.replace_appliances(appliances)
    assert parse(command("check_health").data).findtext("{*}version") == "24.3.1"


def test_unhealthy_appliance(command, svc, client):
    appliances = populations.appliances()
    appliances[0].healthy = False
    appliances[0].error_message = "Disk almost full"
    svc.store.registry.replace_appliances(appliances)
    root = parse(command("check_health").data)
    assert root.findtext("{*}success") == "0" and root.findtext("{*}error_message") == "Disk almost full"
    plain = client.get("/check_health")
    assert plain.status_code == 500 and b"Disk almost full" in plain.data


def test_unauthenticated_check_health(client):
    response = client.get("/check_health")
    assert response.status_code == 200 and response.mimetype == "text/plain" and response.data.strip()


def test_logged_in_reps(command, population, svc):
    root = parse(command("get_logged_in_reps").data)
    assert [local(el) for el in root] == ["rep"]
    rep = root[0]
    assert rep.get("id") == "7"
    assert children(rep) == [
        "display_name",
        "public_display_name",
        "private_display_name",
        "type",
        "direct_link",
        "logged_in_since",
        "presentation_count",
        "support_session_count",
        "showing_on_rep_list",
    ]
    # "an HTML anchor tag containing the URL" (vendor's page), as escaped text
    assert rep.findtext("{*}direct_link") == '<a href="https://support.example.com/?ak=rep0007">Jo S.</a>'
    assert b"<direct_link>&lt;a href=" in command("get_logged_in_reps").data
    assert rep.find("{*}logged_in_since").get("ts") == str(populations.T0 - 3600)


def test_logged_in_reps_of_demo_match_representatives(command, demo_population):
    reps = parse(command("get_logged_in_reps").data)
    connected = parse(command("get_connected_clients", type="representative").data)
    assert {r.get("id") for r in reps} == {el.findtext("{*}user_id") for el in connected}


def test_appliances(command, population):
    root = parse(command("get_appliances").data)
    assert [el.get("id") for el in root] == [populations.PRIMARY, populations.TRAFFIC]
    assert children(root[0]) == [
        "name",
        "public_hostname",
        "cluster_role",
        "failover_role",
        "accepting_connections",
        "timezone_offset",
    ]
    assert (
        root[1].findtext("{*}cluster_role") == "traffic" and root[1].findtext("{*}timezone_offset") == "3600"
    )
