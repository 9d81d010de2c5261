"""Bad input to the feed: every malformed, oversized or inconsistent request gets a 4xx JSON error
naming the field, and changes nothing."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_feed_api import customer_body, named_body, rep_body
from tests.feeding import snapshot

SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def with_value(body: dict, path: str, value) -> dict:
    """A copy of ``body`` with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return out


BAD_CLIENTS = [
    (rep_body(), "hostname", ..., "hostname"),
    (rep_body(), "hostname", "h" * 256, "hostname"),
    (rep_body(), "hostname", "bad\x00byte", "hostname"),
    (rep_body(), "platform", "lone \ud800 surrogate", "platform"),
    (customer_body(), "name", "not a character: \uffff", "name"),
    (rep_body(), "platform_id", 64, "platform_id"),
    (rep_body(), "type", "robot", "type"),
    (rep_body(), "type", ..., "type"),
    (rep_body(), "timezone_offset", 99_999, "timezone_offset"),
    (rep_body(), "timezone_offset", 3600.5, "timezone_offset"),
    (rep_body(), "connected_since", 12, "connected_since"),
    (rep_body(), "connected_since", 1_790_000_000_000, "connected_since"),
    (rep_body(), "connected_since", "1790000000", "connected_since"),
    (rep_body(), "connected_since_offset", "+25:00", "connected_since_offset"),
    (rep_body(), "colour", "blue", "colour"),
    (
        rep_body(),
        "connections",
        [{"appliance_id": "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00", "purpose": "traffic"}] * 9,
        "connections",
    ),
    (rep_body(), "connections.0.appliance_id", "support.example.com", "connections.0.appliance_id"),
    (rep_body(), "connections.0.purpose", "backup", "connections.0.purpose"),
    (rep_body(), "connections.1.purpose", "primary", "connections.1.purpose"),
    (rep_body(), "connections.0.receive_traffic_node", 2, "connections.0.receive_traffic_node"),
    (rep_body(), "connections.0.receive_traffic_node", "yes", "connections.0.receive_traffic_node"),
    (rep_body(), "connections.0.private_ip", "x" * 65, "connections.0.private_ip"),
    (rep_body(), "events", [{"text": "x"}] * 1001, "events"),
    (rep_body(), "events.0.text", "t" * 1025, "events.0.text"),
    (rep_body(), "events.0.kind", "panic", "events.0.kind"),
    (rep_body(), "events.0.ts", -1, "events.0.ts"),
    (rep_body(), "representative", ..., "representative"),
    (rep_body(), "representative.type", "Admin", "representative.type"),
    (rep_body(), "representative.user_id", 0, "representative.user_id"),
    (rep_body(), "representative.user_id", True, "representative.user_id"),
    (rep_body(), "representative.presentation_count", 2, "representative.presentation_count"),
    (rep_body(), "representative.support_session_count", 4, "representative.support_session_count"),
    (rep_body(), "representative.support_session_lsids", ["x"] * 101, "representative.support_session_lsids"),
    (rep_body(), "representative.support_session_lsids", ["x", "x"], "representative.support_session_lsids"),
    (rep_body(), "representative.routing_busy", "true", "representative.routing_busy"),
    (rep_body(), "name", "reps have no name", "name"),
    (customer_body(), "representative", {"user_id": 1, "username": "x"}, "representative"),
    (customer_body(), "lsid", ..., "lsid"),
    (customer_body(), "lsid", "", "lsid"),
    (customer_body(), "non_interactive", "vnc", "non_interactive"),
    (named_body("push_agent"), "lsid", "a" * 32, "lsid"),
    (named_body("presentation_attendee"), "id", 0, "id"),
    (named_body("presentation_attendee"), "id", 2_147_483_648, "id"),
    (named_body("presentation_attendee"), "id", "12", "id"),
]


@pytest.mark.parametrize(
    "body, path, value, field", BAD_CLIENTS, ids=[f"{b['type']}:{p}" for b, p, _, _ in BAD_CLIENTS]
)
def test_bad_clients_are_refused_naming_the_field(client, feed, svc, body, path, value, field):
    before = snapshot(svc)
    response = client.post("/api/v1/clients", json=with_value(body, path, value), headers=feed)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()
    assert error["error"] == "invalid_request" and error["details"]["field"] == field
    assert error["message"].startswith(f"{field}:")
    assert snapshot(svc) == before
    batched = client.post(
        "/api/v1/batch",
        json={
            "operations": [
                {"op": "connect", "client": customer_body()},
                {"op": "connect", "client": with_value(body, path, value)},
            ]
        },
        headers=feed,
    )
    assert (
        batched.status_code == 400
        and batched.get_json()["details"]["field"] == f"operations.1.client.{field}"
    ) or batched.get_json()["details"]["field"] == f"operations.1.{field}"
    assert snapshot(svc) == before


@pytest.mark.parametrize(
    "route, body, field",
    [
        ("/api/v1/clients/1", {}, "_schema"),
        ("/api/v1/clients/1", {"type": "push_agent"}, "type"),
        ("/api/v1/clients/1", {"id": 7}, "id"),
        ("/api/v1/clients/1", {"connections": [{}]}, "connections.0.appliance_id"),
        ("/api/v1/clients/1/events", {}, "events"),
        ("/api/v1/clients/1/events", {"events": []}, "events"),
        ("/api/v1/clients/1/events", {"events": [{"text": "x", "ts": 1}]}, "events.0.ts"),
        ("/api/v1/clients/1/disconnect", {"initiator": "aliens"}, "initiator"),
        ("/api/v1/clients/1/disconnect", {"reason": "r" * 256}, "reason"),
        ("/api/v1/batch", {}, "operations"),
        ("/api/v1/batch", {"operations": []}, "operations"),
        ("/api/v1/batch", {"operations": [{"op": "explode"}]}, "operations.0.op"),
        ("/api/v1/batch", {"operations": [{"op": "disconnect", "id": 1}] * 1001}, "operations"),
        (
            "/api/v1/batch",
            {"operations": [{"op": "update", "id": 1, "fields": {"hostname": None}}]},
            "operations.0.fields.hostname",
        ),
        ("/api/v1/batch", {"operations": "all"}, "operations"),
    ],
)
def test_bad_writes_to_a_client_name_the_field(client, feed, svc, route, body, field):
    client.post("/api/v1/clients", json=named_body("push_agent"), headers=feed)
    before = snapshot(svc)
    method = client.patch if route == "/api/v1/clients/1" else client.post
    response = method(route, json=body, headers=feed)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["details"]["field"] == field
    assert snapshot(svc) == before


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"null", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"[" * 500_000, "application/json", 400),
        (b'{"a": ' * 100_000, "application/json", 400),
        (b"type=representative", "application/x-www-form-urlencoded", 415),
        (b"{}", "text/plain", 415),
    ],
)
def test_malformed_bodies(client, feed, svc, data, content_type, status):
    before = snapshot(svc)
    response = client.post("/api/v1/clients", data=data, content_type=content_type, headers=feed)
    assert response.status_code == status and response.mimetype == "application/json"
    assert response.get_json()["error"] and response.get_json()["message"]
    assert snapshot(svc) == before


def test_bodies_over_1_mib_are_refused_except_on_batch_and_import(client, feed, svc):
    client.post("/api/v1/clients", json=named_body("push_agent"), headers=feed)
    events = [{"ts": 1_790_000_000, "kind": "failure", "text": "t" * 1024} for _ in range(1000)]
    assert len(json.dumps({"events": events})) > 1 << 20
    before = snapshot(svc)
    big = client.post("/api/v1/clients/1/events", json={"events": events}, headers=feed)
    assert big.status_code == 413 and big.get_json()["error"] == "request_too_large"
    assert snapshot(svc) == before
    batch = client.post(
        "/api/v1/batch",
        json={"operations": [{"op": "events", "id": 1, "events": [e]} for e in events]},
        headers=feed,
    )
    assert batch.status_code == 200, "batches may be larger, up to GATEWAY_FEED_MAX_BODY"
    huge = client.post(
        "/api/v1/batch", data=b" " * ((16 << 20) + 1), content_type="application/json", headers=feed
    )
    assert huge.status_code == 413


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(value, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in [f"{prefix}{k}", *_paths(v, f"{prefix}{k}.")]]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in [f"{prefix}{i}", *_paths(v, f"{prefix}{i}.")]]
    return []


BODIES = [rep_body(), customer_body(non_interactive="rdp"), named_body("presentation_attendee")]


@settings(max_examples=120, deadline=None, suppress_health_check=SUPPRESS)
@given(st.data())
def test_any_mutation_is_accepted_or_refused_naming_the_field_it_touched(client, feed, svc, data):
    body = data.draw(st.sampled_from(BODIES))
    path = data.draw(st.sampled_from([p for p in _paths(body) if p != "type"]))
    value = data.draw(JSON | st.just(...))
    before = snapshot(svc)
    response = client.post("/api/v1/clients", json=with_value(body, path, value), headers=feed)
    if response.status_code == 201:
        return
    assert response.status_code == 400, response.get_json()
    field = response.get_json()["details"]["field"]
    parent = path.rsplit(".", 1)[0] if "." in path else path
    assert (
        field.startswith((path, parent))
        or path.startswith(field)
        or field == "representative.support_session_count"
    ), (path, value, response.get_json())
    assert snapshot(svc) == before


@settings(max_examples=60, deadline=None, suppress_health_check=SUPPRESS)
@given(
    route=st.sampled_from(
        ["/api/v1/clients", "/api/v1/clients/1/events", "/api/v1/clients/1/disconnect", "/api/v1/batch"]
    ),
    body=JSON,
)
def test_random_json_never_writes_nor_fails_badly(client, feed, svc, route, body):
    before = snapshot(svc)
    response = client.post(route, data=json.dumps(body), content_type="application/json", headers=feed)
    assert (
        400 <= response.status_code < 500
        or (route.endswith("disconnect") and response.status_code == 404)
        or (response.status_code == 404 and route.startswith("/api/v1/clients/1"))
    ), response.get_json()
    assert response.get_json()["details"]["field"]
    assert snapshot(svc) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/clients/0/events",
        "/api/v1/clients/2147483648/events",
        "/api/v1/clients/99999999999999999999999/events",
        "/api/v1/clients/-1/events",
        "/api/v1/clients/1.5/events",
        "/api/v1/clients/x/events",
    ],
)
def test_ids_in_paths_out_of_range_are_404(client, feed, svc, path):
    client.post("/api/v1/clients", json=named_body("push_agent"), headers=feed)
    before = snapshot(svc)
    response = client.post(path, json={"text": "x"}, headers=feed)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert snapshot(svc) == before


@pytest.mark.parametrize("path", ["/oauth2/token", "/api/v1/clients", "/api/v1/batch", "/api/v1/admin/reset"])
def test_json_nested_deeper_than_the_decoder_goes_is_a_400(client, feed, path):
    response = client.post(path, data=b"[" * 500_000, content_type="application/json", headers=feed)
    assert response.status_code in (400, 403) and response.get_json()["error"] != "server_error"
