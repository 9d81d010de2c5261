"""get_connected_clients: every element of every client type, in order, with and without connections."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from gateway.clock import iso8601
from gateway.config import NAMESPACE_PRESETS
from tests import populations
from tests.xmlutil import assert_golden, children, local, parse

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

REP_FIELDS = [
    "hostname",
    "platform",
    "timezone_offset",
    "user_id",
    "type",
    "username",
    "public_display_name",
    "private_display_name",
    "start_session_url",
    "presentation_count",
    "support_session_count",
    "showing_on_rep_list",
    "routing_idle",
    "routing_busy",
    "routing_enabled",
    "routing_available",
    "support_license",
    "support_session_lsids",
]


@pytest.fixture
def population(svc):
    return populations.load(svc.registry)


@pytest.mark.parametrize(
    "client_id, element, golden",
    [
        (101, "connected_representative", "representative"),
        (102, "connected_support_customer", "support_customer"),
        (103, "connected_support_customer", "support_customer_rdp"),
        (104, "connected_presentation_attendee", "presentation_attendee"),
        (105, "connected_push_agent", "push_agent"),
    ],
)
@pytest.mark.parametrize("include", ["0", "1"])
def test_each_client_type_matches_its_golden_file(command, population, client_id, element, golden, include):
    response = command("get_connected_clients", id=client_id, include_connections=include)
    assert response.status_code == 200
    root = parse(response.data)
    assert [local(c) for c in root] == [element]
    suffix = "_connections" if include == "1" else ""
    assert_golden(f"{golden}{suffix}.xml", response.data)


def test_representative_fields_are_in_documented_order(command, population):
    rep = parse(command("get_connected_clients", id=101).data)[0]
    assert children(rep) == REP_FIELDS
    with_connections = parse(command("get_connected_clients", id=101, include_connections=1).data)[0]
    assert children(with_connections) == [
        "client_connections",
        *REP_FIELDS[:3],
        "connected_since",
        *REP_FIELDS[3:],
    ]


def test_customer_attendee_and_push_agent_field_order(command, population):
    root = parse(command("get_connected_clients", include_connections=1).data)
    by_id = {int(el.get("id")): el for el in root}
    head = ["client_connections", "hostname", "platform", "timezone_offset", "connected_since"]
    assert children(by_id[102]) == [*head, "name", "lsid"]
    assert children(by_id[103]) == [*head, "name", "non_interactive", "lsid"]
    assert children(by_id[104]) == [*head, "name"]
    assert children(by_id[105]) == [*head, "name"]


def test_connection_layout_event_log_cap_and_timestamps(command, population):
    root = parse(command("get_connected_clients", id=105, include_connections=1).data)
    connections = root[0].find("{*}client_connections")
    assert children(connections) == ["client_connection", "client_connection", "event_log"]
    first = connections[0]
    assert children(first) == [
        "appliance_id",
        "purpose",
        "receive_traffic_node",
        "connected_since",
        "private_ip",
    ]
    assert first.findtext("{*}purpose") == "primary" and connections[1].findtext("{*}purpose") == "traffic"
    since = first.find("{*}connected_since")
    assert since.text == iso8601(int(since.get("ts")))
    events = connections.find("{*}event_log")
    assert len(events) == 20, "only the last 20 of 25 events"
    assert events[0].text == "Reconnect number 5 to traffic node traffic-eu.example.com"
    assert events[-1].text == "Reconnect number 24 to traffic node traffic-eu.example.com"
    stamps = [int(e.get("ts")) for e in events]
    assert stamps == sorted(stamps)


def test_connected_since_only_with_include_connections(command, population):
    plain = parse(command("get_connected_clients").data)
    assert all(
        el.find("{*}connected_since") is None and el.find("{*}client_connections") is None for el in plain
    )
    full = parse(command("get_connected_clients", include_connections=1).data)
    assert all(el.find("{*}connected_since") is not None for el in full)


def test_special_characters_are_escaped_and_round_trip(command, population):
    body = command("get_connected_clients", id="101,102").data
    assert b'Jo Smith &lt;Tier 2&gt; &amp; "friends"' in body
    root = parse(body)
    assert root[0].findtext("{*}private_display_name") == 'Jo Smith <Tier 2> & "friends"'
    assert root[1].findtext("{*}name") == "Zoë O'Brien"
    assert "Zoë".encode() in body, "UTF-8 text, not character references"


def test_exact_prologue_and_root_bytes(command, population, namespace):
    body = command("get_connected_clients").data
    assert body.startswith(DECLARATION + f'<connected_clients xmlns="{namespace}">'.encode())
    assert body.endswith(b"</connected_clients>\n")


def test_empty_registry_gives_empty_root(command, namespace):
    body = command("get_connected_clients").data
    root = parse(body)
    assert local(root) == "connected_clients" and len(root) == 0


@pytest.mark.parametrize(
    "types, expected",
    [
        ("all", [101, 102, 103, 104, 105]),
        ("representative", [101]),
        ("support_customer", [102, 103]),
        ("representative,support_customer", [101, 102, 103]),
        ("presentation_attendee,push_agent", [104, 105]),
        (" push_agent , representative ", [101, 105]),
        ("representative,all", [101, 102, 103, 104, 105]),
    ],
)
def test_type_filter(command, population, types, expected):
    root = parse(command("get_connected_clients", type=types).data)
    assert [int(el.get("id")) for el in root] == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"id": "101,102,103"}, [101, 102, 103]),
        ({"id": "103,101,101"}, [101, 103]),
        ({"id": "999"}, []),
        ({"id": "101,102,103", "type": "representative,support_customer"}, [101, 102, 103]),
        ({"id": "101,104", "type": "support_customer"}, []),
        ({"id": "105", "type": "push_agent", "include_connections": "1"}, [105]),
    ],
)
def test_id_filter(command, population, params, expected):
    root = parse(command("get_connected_clients", **params).data)
    assert [int(el.get("id")) for el in root] == expected


def test_post_form_query_mix_and_ns_alias(client, auth, population):
    query = "/api/command.ns?action=get_connected_clients"
    response = client.post(query, data={"id": "101,102", "include_connections": "1"}, headers=auth)
    root = parse(response.data)
    assert [int(el.get("id")) for el in root] == [101, 102]
    assert root[0].find("{*}client_connections") is not None


def test_repeated_list_parameters_are_merged(client, auth, population):
    response = client.get("/api/command?action=get_connected_clients&id=101&id=104", headers=auth)
    assert [int(el.get("id")) for el in parse(response.data)] == [101, 104]


@pytest.mark.parametrize("preset", sorted(NAMESPACE_PRESETS))
def test_legacy_consumer_string_deletes_namespace_then_parses(app_config, preset):
    """What a real integration does: delete the exact xmlns attribute text, then ElementTree finds plain
    tags."""
    from gateway import create_app
    from tests.conftest import ValidatingClient

    app = create_app({**app_config, "NAMESPACE": preset})
    app.test_client_class = ValidatingClient
    svc = app.extensions["gateway"]
    populations.load(svc.registry)
    creds = svc.accounts.create("legacy", "read_only")
    client = app.test_client()
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    ).get_json()["access_token"]
    body = client.get(
        "/api/command",
        query_string={"action": "get_connected_clients", "include_connections": 1},
        headers={"Authorization": f"Bearer {token}"},
    ).data.decode("utf-8")
    namespace = NAMESPACE_PRESETS[preset]
    stripped = body.replace(f'xmlns="{namespace}"', "")
    root = ElementTree.fromstring(stripped)
    reps = root.findall("connected_representative")
    assert [r.find("username").text for r in reps] == ["jsmith"]
    assert [lsid.text for lsid in reps[0].find("support_session_lsids")] == [
        populations.LSID_A,
        populations.LSID_B,
    ]
    assert root.find("connected_push_agent/client_connections/event_log") is not None
    svc.store.close()


def test_demo_population_is_consistent(command, demo_population):
    root = parse(command("get_connected_clients", include_connections=1).data)
    reps = root.findall("{*}connected_representative")
    customers = root.findall("{*}connected_support_customer")
    assert len(reps) >= 24 and len(customers) >= 200
    assert root.findall("{*}connected_presentation_attendee") and root.findall("{*}connected_push_agent")
    rep_lsids = {lsid.text for rep in reps for lsid in rep.iterfind("{*}support_session_lsids/{*}lsid")}
    customer_lsids = {c.findtext("{*}lsid") for c in customers}
    assert rep_lsids <= customer_lsids, "every session a representative is in has its customer"
    assert len(customer_lsids - rep_lsids) > 0, "some customers still wait in a queue"
    for rep in reps:
        assert int(rep.findtext("{*}support_session_count")) == len(
            rep.findall("{*}support_session_lsids/{*}lsid")
        )
    appliance_ids = {a.id for a in demo_population[0]}
    ids = [int(el.get("id")) for el in root]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for el in root:
        connections = el.findall("{*}client_connections/{*}client_connection")
        assert 1 <= len(connections) <= 2
        assert {c.findtext("{*}appliance_id") for c in connections} <= appliance_ids
        assert 1 <= len(el.findall("{*}client_connections/{*}event_log/{*}event")) <= 20
    assert any(len(el.findall("{*}client_connections/{*}event_log/{*}event")) == 20 for el in root)
