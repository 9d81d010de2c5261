"""The worker's cache of rendered get_connected_clients documents: its answers are byte for byte what the
uncached path renders, a write on any node (a second app on the same database) is seen at once, and
documents rendered under other settings (namespace presets) are never mixed up."""

from __future__ import annotations

import pytest

from gateway import create_app
from gateway.config import NAMESPACE_PRESETS, ConfigError, settings
from tests import populations
from tests.conftest import ValidatingClient
from tests.xmlutil import parse

QUERIES = [
    {"include_connections": "1"},
    {"include_connections": "0"},
    {},
    {"id": "101"},
    {"id": "101", "include_connections": "1"},
    {"id": ["102", "104", "999"], "include_connections": "1"},
    {"type": "support_customer"},
    {"type": ["representative", "push_agent"], "include_connections": "1"},
]


def other_node(app_config: dict, **overrides):
    """A second gateway on the same database: another node, with its own workers' caches."""
    node = create_app({**app_config, **overrides})
    node.test_client_class = ValidatingClient
    return node


@pytest.fixture
def nodes(app, app_config):
    """(uncached, cached on another node) beside ``app``: all three on the same database."""
    uncached = other_node(app_config, DOCUMENT_CACHE_BYTES=0)
    cached = other_node(app_config)
    yield uncached, cached
    for node in (uncached, cached):
        node.extensions["gateway"].store.close()


def ask(client, auth, **params):
    response = client.get(
        "/api/command", query_string={"action": "get_connected_clients", **params}, headers=auth
    )
    assert response.status_code == 200, response.data[:300]
    return response.data


def test_cached_answers_are_the_uncached_bytes(client, auth, svc, nodes):
    populations.load(svc.registry)
    uncached = nodes[0].test_client()
    for query in QUERIES:
        expected = ask(uncached, auth, **query)
        assert ask(client, auth, **query) == expected  # a miss, kept
        assert ask(client, auth, **query) == expected  # a hit
    assert len(svc.documents) == len(QUERIES) - 1  # include_connections=0 and none load the same query
    assert len(nodes[0].extensions["gateway"].documents) == 0  # GATEWAY_DOCUMENT_CACHE_BYTES=0: off


def test_a_write_on_another_node_is_seen_at_once(client, auth, feed, svc, nodes):
    populations.load(svc.registry)
    uncached, other = (node.test_client() for node in nodes)
    before = {i: ask(client, auth, **query) for i, query in enumerate(QUERIES)}
    assert len(svc.documents) == len(QUERIES) - 1

    # An event appended through the other node changes the dump with connections and client 101's answer.
    response = other.post(
        "/api/v1/clients/101/events", json={"text": "Failed to reach node2", "kind": "failure"}, headers=feed
    )
    assert response.status_code == 200, response.get_json()
    for query in QUERIES:
        assert ask(client, auth, **query) == ask(uncached, auth, **query)
    dump = parse(ask(client, auth, include_connections="1"))
    assert b"Failed to reach node2" in ask(client, auth, id="101", include_connections="1")
    assert len(dump) == len(parse(before[0]))

    # A client connected through the other node shows in this node's next dump; a disconnect removes it.
    created = other.post(
        "/api/v1/clients",
        json={
            "type": "push_agent",
            "hostname": "JUMP-9",
            "platform": "Linux",
            "platform_id": "linux-x86",
            "name": "Jumpoint 9",
            "connections": [{"appliance_id": populations.PRIMARY, "receive_traffic_node": 1}],
        },
        headers=feed,
    )
    assert created.status_code == 201, created.get_json()
    new_id = created.get_json()["id"]
    assert str(new_id) in [el.get("id") for el in parse(ask(client, auth))]
    assert ask(client, auth) == ask(uncached, auth)
    gone = other.post(f"/api/v1/clients/{new_id}/disconnect", json={}, headers=feed)
    assert gone.status_code == 200, gone.get_json()
    assert ask(client, auth) == before[2]


def test_a_reset_on_another_node_is_seen_at_once(client, auth, svc, nodes):
    populations.load(svc.registry)
    full = ask(client, auth, include_connections="1")
    assert len(parse(full)) > 0
    nodes[1].extensions["gateway"].registry.replace_population(populations.appliances(), [])
    assert len(parse(ask(client, auth, include_connections="1"))) == 0


def test_namespace_presets_keep_their_own_documents(client, auth, svc, app_config):
    populations.load(svc.registry)
    bomgar = other_node(app_config, NAMESPACE="bomgar")
    try:
        other = bomgar.test_client()
        for _ in range(2):
            ours = ask(client, auth, include_connections="1")
            theirs = ask(other, auth, include_connections="1")
            assert parse(ours).tag == f"{{{NAMESPACE_PRESETS['beyondtrust']}}}connected_clients"
            assert parse(theirs).tag == f"{{{NAMESPACE_PRESETS['bomgar']}}}connected_clients"
            assert ours.replace(NAMESPACE_PRESETS["beyondtrust"].encode(), b"NS") == theirs.replace(
                NAMESPACE_PRESETS["bomgar"].encode(), b"NS"
            )
    finally:
        bomgar.extensions["gateway"].store.close()


def test_a_document_over_the_limit_streams_without_being_kept(auth, svc, app_config):
    populations.load(svc.registry)
    small = other_node(app_config, DOCUMENT_CACHE_MAX_DOCUMENT=2000)
    try:
        client = small.test_client()
        dump = ask(client, auth, include_connections="1")
        assert len(dump) > 2000 and ask(client, auth, include_connections="1") == dump
        one = ask(client, auth, id="105")
        assert len(one) <= 2000
        assert len(small.extensions["gateway"].documents) == 1  # only the small answer
    finally:
        small.extensions["gateway"].store.close()


def test_errors_are_not_cached(client, auth, svc, command):
    populations.load(svc.registry)
    for _ in range(2):
        refused = command("get_connected_clients", id="x")
        assert [child.tag.rpartition("}")[2] for child in parse(refused.data)] == ["error"]
    assert len(svc.documents) == 0


@pytest.mark.parametrize("value", ["-1", "lots"])
def test_the_cache_settings_are_checked(value):
    with pytest.raises(ConfigError, match="GATEWAY_DOCUMENT_CACHE_BYTES"):
        settings({"DOCUMENT_CACHE_BYTES": value})


def test_the_cache_stays_within_its_budget(auth, svc, app_config):
    populations.load(svc.registry)
    small = other_node(app_config, DOCUMENT_CACHE_BYTES=3000, DOCUMENT_CACHE_MAX_DOCUMENT=3000)
    try:
        client, cache = small.test_client(), small.extensions["gateway"].documents
        answers = {}
        for _ in range(2):
            for client_id in ("101", "102", "103", "104", "105"):
                body = ask(client, auth, id=client_id, include_connections="1")
                assert answers.setdefault(client_id, body) == body
                kept = list(cache._entries.values())
                assert sum(len(chunk) for document in kept for chunk in document) <= 3000
        assert 1 <= len(cache) < 5
    finally:
        small.extensions["gateway"].store.close()


def test_a_dump_closed_early_is_not_kept(app, auth, svc, demo_population, nodes):
    from flask.testing import FlaskClient  # not the validating client: it reads every body whole

    response = FlaskClient(app).get(
        "/api/command",
        query_string={"action": "get_connected_clients", "include_connections": "1"},
        headers=auth,
        buffered=False,
    )
    assert response.status_code == 200 and response.is_streamed
    first = next(iter(response.response))
    response.close()
    assert first and len(svc.documents) == 0
    whole = ask(app.test_client(), auth, include_connections="1")
    assert whole.startswith(first) and whole == ask(nodes[0].test_client(), auth, include_connections="1")
    assert len(svc.documents) == 1
