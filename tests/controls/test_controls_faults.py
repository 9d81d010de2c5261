"""Fault injection through the admin API, as a test harness uses it (the Flask test client validates
every XML body against the XSD, faulted ones included)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import create_app
from gateway.controls.faults import FaultRule
from gateway.controls.middleware import ConnectionDropped
from tests import populations


@pytest.fixture
def add_fault(client, admin_auth):
    def add(rule: dict, expect: int = 201) -> dict:
        response = client.post("/api/v1/admin/faults", json=rule, headers=admin_auth)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    return add


def statuses(command, count: int, action: str = "get_api_info", **kwargs) -> list[int]:
    return [command(action, **kwargs).status_code for _ in range(count)]


def test_every_nth_request_gets_the_error_as_valid_xml(command, add_fault, client, admin_auth):
    rule = add_fault(
        {
            "match": {"action": "get_api_info"},
            "error": {"status": 503, "message": "Appliance busy"},
            "every": 3,
        }
    )
    assert rule["state"] == "active" and rule["match"] == {"action": ["get_api_info"]}
    assert statuses(command, 6) == [200, 200, 503, 200, 200, 503]
    response = [command("get_api_info") for _ in range(3)][-1]
    assert response.status_code == 503 and b"<error" in response.data and b"Appliance busy" in response.data
    assert command("check_health").status_code == 200, "other actions are untouched"
    listed = client.get("/api/v1/admin/faults", headers=admin_auth).get_json()["faults"]
    assert [(r["id"], r["matched"], r["fired"]) for r in listed] == [(rule["id"], 9, 3)]


def test_an_error_with_status_200_sits_in_the_list_actions_root(command, add_fault, namespace):
    add_fault({"error": {"status": 200, "message": "Too busy to list clients"}})
    response = command("get_connected_clients")
    assert response.status_code == 200
    assert response.data.endswith(
        (
            f'<connected_clients xmlns="{namespace}">\n'
            "  <error>Too busy to list clients</error>\n</connected_clients>\n"
        ).encode()
    )


def test_json_face_and_token_endpoint_errors_are_json(client, add_fault, make_account, svc):
    add_fault({"match": {"face": "json"}, "error": {"status": 502}})
    response = client.get("/api/v1/clients")
    assert response.status_code == 502
    assert response.get_json() == {"error": "bad_gateway", "message": "Bad Gateway"}
    creds = make_account()
    add_fault({"match": {"action": "token"}, "error": {"status": 503}, "for_seconds": 60})
    outage = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    )
    assert outage.status_code == 503 and outage.get_json()["error"] == "temporarily_unavailable"
    svc.controls.clock_control.advance(61)  # the outage lasts 60 s of gateway time
    recovered = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    )
    assert recovered.status_code == 200


def test_injected_429_carries_retry_after(command, add_fault):
    add_fault({"match": {"action": "get_connected_clients"}, "rate_limit": {"retry_after": 30}, "times": 2})
    responses = [command("get_connected_clients") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "30" and b"<error" in responses[0].data


def test_a_seeded_probability_gives_the_same_run_every_time(command, add_fault, client, admin_auth):
    runs = []
    for _ in range(2):
        add_fault({"error": {"status": 502}, "probability": 0.4, "seed": 2026})
        runs.append(statuses(command, 30))
        client.delete("/api/v1/admin/faults", headers=admin_auth)
    assert runs[0] == runs[1]
    assert 0 < runs[0].count(502) < 30
    rule = FaultRule(1, {"probability": 0.4, "seed": 2026}, 0.0)
    assert [502 if rule.fires(n) else 200 for n in range(1, 31)] == runs[0]


def test_seeded_latency_ranges_are_deterministic_and_bounded():
    rule = FaultRule(1, {"latency": {"min_ms": 100, "max_ms": 900}, "seed": 7}, 0.0)
    delays = [rule.latency(n) for n in range(1, 50)]
    assert delays == [rule.latency(n) for n in range(1, 50)]
    assert all(0.1 <= d <= 0.9 for d in delays) and len(set(delays)) > 40
    assert FaultRule(2, {"latency": {"ms": 250}}, 0.0).latency(1) == 0.25


def test_latency_is_recorded_and_combines_with_an_error(command, add_fault, client, admin_auth):
    add_fault({"match": {"action": "get_api_info"}, "latency": {"ms": 1}})
    add_fault(
        {"match": {"action": "get_api_info"}, "latency": {"ms": 1}, "error": {"status": 504}, "every": 2}
    )
    assert statuses(command, 2) == [200, 504]
    entries = client.get("/api/v1/admin/journal?action=get_api_info", headers=admin_auth).get_json()[
        "entries"
    ]
    assert [(e["status"], e["fault"]) for e in entries] == [(200, "latency"), (504, "error")]


def test_times_spends_a_rule(command, add_fault, client, admin_auth):
    add_fault({"error": {"status": 502}, "times": 2})
    assert statuses(command, 4) == [502, 502, 200, 200]
    [rule] = client.get("/api/v1/admin/faults", headers=admin_auth).get_json()["faults"]
    assert rule["state"] == "spent" and rule["fired"] == 2


def test_account_rules_touch_only_that_accounts_requests(client, add_fault, make_account, get_token, svc):
    target, other = make_account(name="target", legacy_login=True), make_account(name="other")
    rule = add_fault({"match": {"account": "target"}, "error": {"status": 503}})
    assert rule["match"]["account"] == target.account.client_id, "names resolve to client ids"
    other_headers = {"Authorization": f"Bearer {get_token(other)}"}
    assert client.get("/api/command?action=get_api_info", headers=other_headers).status_code == 200
    token_response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(target.account.client_id, target.client_secret),
    )
    assert token_response.status_code == 503, "the token endpoint matches the presented client id"
    legacy = client.get(
        "/api/command",
        query_string={"action": "get_api_info", "username": "target", "password": target.client_secret},
    )
    assert legacy.status_code == 503
    token = "t" * 40
    svc.accounts.save_token(target.account, token)
    assert (
        client.get(
            "/api/command?action=get_api_info", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 503
    )
    add_fault({"match": {"account": "nobody"}, "drop": True}, expect=400)


def test_path_globs_and_faces(client, command, add_fault):
    add_fault({"match": {"path": "/api/command.ns"}, "error": {"status": 502}})
    assert command("get_api_info").status_code == 200
    assert command("get_api_info", path="/api/command.ns").status_code == 502


def test_a_dropped_connection_is_visible_to_the_test_client(command, add_fault, client, admin_auth):
    add_fault({"match": {"action": "get_api_info"}, "drop": True, "times": 1})
    with pytest.raises(ConnectionDropped):
        command("get_api_info")
    assert command("get_api_info").status_code == 200
    entries = client.get("/api/v1/admin/journal", headers=admin_auth).get_json()["entries"]
    assert [(e["status"], e["fault"]) for e in entries if e["action"] == "get_api_info"] == [
        (None, "drop"),
        (200, None),
    ]


def test_a_truncated_body_declares_more_than_it_sends(app, svc, add_fault, auth):
    populations.load(svc.registry)
    add_fault({"match": {"action": "get_connected_clients"}, "truncate": {"fraction": 0.5}})
    raw = FlaskClient(app)  # deliberately invalid XML: not the validating client
    response = raw.get("/api/command?action=get_connected_clients&include_connections=1", headers=auth)
    declared = int(response.headers["Content-Length"])
    assert response.status_code == 200 and len(response.data) == declared // 2 and declared > 1000
    add_fault({"match": {"action": "get_api_info"}, "truncate": {"bytes": 10}})
    assert len(raw.get("/api/command?action=get_api_info", headers=auth).data) == 10


def test_reset_dribble_and_malformed_through_the_test_client(app, svc, add_fault, auth, client, admin_auth):
    """What a test client can see of them (the socket-level behaviour: tests/e2e/test_faults_e2e.py)."""
    from gateway.controls.middleware import GARBAGE, ConnectionReset

    populations.load(svc.registry)
    raw = FlaskClient(app)  # malformed bodies are deliberately invalid XML: not the validating client
    path = "/api/command?action=get_connected_clients&include_connections=1"
    whole = raw.get(path, headers=auth).data
    add_fault(
        {"match": {"action": "get_connected_clients"}, "dribble": {"bytes_per_second": 1 << 20}, "times": 1}
    )
    assert raw.get(path, headers=auth).data == whole, "dribbled, every byte arrives"
    add_fault({"match": {"action": "get_connected_clients"}, "malformed": {}, "times": 1})
    cut = raw.get(path, headers=auth)
    assert cut.status_code == 200 and cut.data == whole[: len(whole) // 2]
    assert int(cut.headers["Content-Length"]) == len(cut.data)
    add_fault({"match": {"action": "get_connected_clients"}, "malformed": {"body": "garbage"}, "times": 1})
    assert raw.get(path, headers=auth).data == GARBAGE
    add_fault({"match": {"action": "get_connected_clients"}, "reset": True, "times": 1})
    with pytest.raises(ConnectionReset):
        raw.get(path, headers=auth)
    entries = client.get("/api/v1/admin/journal?action=get_connected_clients", headers=admin_auth).get_json()
    assert [e["fault"] for e in entries["entries"]] == [None, "dribble", "malformed", "malformed", "reset"]


def test_the_admin_surface_is_never_faulted(client, add_fault, admin_auth):
    add_fault({"error": {"status": 502}})
    assert client.get("/api/v1/admin/faults", headers=admin_auth).status_code == 200
    assert client.delete("/api/v1/admin/faults", headers=admin_auth).get_json() == {"removed": 1}


def test_deleting_rules(client, add_fault, admin_auth, command):
    rule = add_fault({"error": {"status": 500}})
    assert client.delete(f"/api/v1/admin/faults/{rule['id']}", headers=admin_auth).get_json() == {
        "removed": 1
    }
    missing = client.delete(f"/api/v1/admin/faults/{rule['id']}", headers=admin_auth)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert command("get_api_info").status_code == 200


def test_fault_admin_needs_the_admin_permission(client, make_account, get_token, app_config, admin_auth):
    assert client.get("/api/v1/admin/faults").status_code == 401
    reader = {"Authorization": f"Bearer {get_token(make_account('full_access'))}"}
    assert client.post("/api/v1/admin/faults", json={"drop": True}, headers=reader).status_code == 403
    disabled = create_app({**app_config, "ADMIN_ENABLED": False})
    for path in (
        "/api/v1/admin/faults",
        "/api/v1/admin/clock",
        "/api/v1/admin/journal",
        "/api/v1/admin/accounts",
    ):
        assert disabled.test_client().get(path, headers=admin_auth).status_code == 404
    disabled.extensions["gateway"].store.close()


@pytest.mark.parametrize(
    "rule, field",
    [
        ({}, "latency"),
        ({"error": {"status": 302}}, "error.status"),
        ({"error": {"status": 500}, "drop": True}, "drop"),
        ({"error": {"status": "500"}}, "error.status"),
        ({"latency": {"min_ms": 10}}, "latency.ms"),
        ({"latency": {"ms": 10**9}}, "latency.ms"),
        ({"drop": True, "every": 0}, "every"),
        ({"drop": True, "every": 2, "probability": 0.5}, "probability"),
        ({"drop": True, "probability": 1.5}, "probability"),
        ({"drop": True, "match": {"face": "admin"}}, "match.face"),
        ({"drop": True, "match": {"action": []}}, "match.action"),
        ({"drop": True, "match": {"path": "no-slash"}}, "match.path"),
        ({"drop": True, "match": {"path": "/a\x00"}}, "match.path"),
        ({"drop": True, "match": {"account": "\x00"}}, "match.account"),
        ({"error": {"status": 500, "message": "bad \x01 char"}}, "error.message"),
        ({"truncate": {"fraction": 1}}, "truncate.fraction"),
        ({"drop": True, "surprise": 1}, "surprise"),
        ({"dribble": {"bytes_per_second": 0}}, "dribble.bytes_per_second"),
        ({"dribble": {}}, "dribble.bytes_per_second"),
        ({"dribble": {"bytes_per_second": 10}, "reset": True}, "dribble"),
        ({"malformed": {"body": "html"}}, "malformed.body"),
        ({"reset": "yes please"}, "reset"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(add_fault, client, admin_auth, rule, field):
    body = add_fault(rule, expect=400)
    assert body["details"]["field"] == field, body
    assert client.get("/api/v1/admin/faults", headers=admin_auth).get_json()["faults"] == []


def test_non_json_bodies_are_refused(client, admin_auth):
    assert client.post("/api/v1/admin/faults", data="drop", headers=admin_auth).status_code == 415
    bad = client.post("/api/v1/admin/faults", data="{", content_type="application/json", headers=admin_auth)
    assert bad.status_code == 400 and bad.get_json()["details"]["field"] == "body"
    listed = client.post("/api/v1/admin/faults", json=[1], headers=admin_auth)
    assert listed.status_code == 400


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
rule_keys = st.sampled_from(
    [
        "match",
        "latency",
        "error",
        "rate_limit",
        "drop",
        "truncate",
        "every",
        "probability",
        "seed",
        "times",
        "for_seconds",
        "other",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(rule_keys, json_values, max_size=4))
def test_any_rule_body_is_accepted_or_refused_cleanly(client, admin_auth, body):
    response = client.post("/api/v1/admin/faults", json=body, headers=admin_auth)
    assert response.status_code in (201, 400), response.data
    if response.status_code == 400:
        assert response.get_json()["details"]["field"]
    client.delete("/api/v1/admin/faults", headers=admin_auth)
