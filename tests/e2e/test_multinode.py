"""Two gateway nodes (real gunicorn on two ports) behind one PostgreSQL database: whatever one node does,
the other sees at once, because nothing is cached per node."""

from __future__ import annotations

import pytest
import requests
from lxml import etree

from gateway import create_app
from gateway.config import NAMESPACE_PRESETS
from tests import populations
from tests.conftest import assert_wire_body
from tests.server import prepare, start

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

NAMESPACE = NAMESPACE_PRESETS["beyondtrust"]


def get_token(base: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=30,
    )


def command(base: str, token: str, **params) -> tuple[int, etree._Element]:
    response = requests.get(
        f"{base}/api/command",
        params={"action": "get_connected_clients", **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert_wire_body(response.status_code, response.headers["Content-Type"], response.content, NAMESPACE)
    return response.status_code, etree.fromstring(response.content)


@pytest.fixture
def nodes(tmp_path, postgres_url):
    """(credentials, node A, node B, node A's app for what A's operators do) on one database."""
    creds = prepare(postgres_url)
    env = {"GATEWAY_DATABASE_URL": postgres_url}
    a = start(env, tmp_path / "node-a.log")
    b = start(env, tmp_path / "node-b.log")
    app_a = create_app({"DATABASE_URL": postgres_url})
    yield creds, a, b, app_a
    app_a.extensions["gateway"].store.close()
    a.stop()
    b.stop()


def test_a_token_from_one_node_works_on_the_other(nodes):
    creds, a, b, _ = nodes
    token = get_token(a.url, creds.account.client_id, creds.client_secret).json()["access_token"]
    status, root = command(b.url, token)
    assert status == 200 and len(root) == 5
    assert (
        command(a.url, token)[1].findtext(f"{{{NAMESPACE}}}connected_representative/{{{NAMESPACE}}}username")
        == "jsmith"
    )


def test_a_client_written_through_one_node_is_served_by_the_other_at_once(nodes):
    creds, a, b, app_a = nodes
    token = get_token(b.url, creds.account.client_id, creds.client_secret).json()["access_token"]
    feeder = app_a.extensions["gateway"].accounts.create("feeder", "read_only", feed=True)
    feed_token = get_token(a.url, feeder.account.client_id, feeder.client_secret).json()["access_token"]
    headers = {"Authorization": f"Bearer {feed_token}"}
    body = {
        "type": "push_agent",
        "hostname": "jp-new",
        "name": "Jumpoint New",
        "platform_id": "linux-x86_64",
        "platform": "Debian GNU/Linux 12 (x86_64)",
        "timezone_offset": 0,
        "connections": [
            {
                "appliance_id": populations.PRIMARY,
                "purpose": "primary",
                "receive_traffic_node": True,
                "private_ip": "10.0.0.77",
            }
        ],
    }
    created = requests.post(f"{a.url}/api/v1/clients", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    status, root = command(b.url, token, id=new_id, include_connections=1)
    assert status == 200
    assert [el.get("id") for el in root] == [str(new_id)]
    assert root[0].findtext(f"{{{NAMESPACE}}}name") == "Jumpoint New"
    assert len(command(b.url, token)[1]) == 6
    events = requests.post(
        f"{a.url}/api/v1/clients/{new_id}/events",
        json={"text": "Failed to connect to node x"},
        headers=headers,
        timeout=10,
    )
    assert events.status_code in (200, 201), events.text
    log = command(b.url, token, id=new_id, include_connections=1)[1][0].find(
        f"{{{NAMESPACE}}}client_connections/{{{NAMESPACE}}}event_log"
    )
    assert log[-1].text == "Failed to connect to node x"


def test_a_secret_regenerated_on_one_node_revokes_on_the_other(nodes):
    creds, a, b, app_a = nodes
    client_id = creds.account.client_id
    old_token = get_token(b.url, client_id, creds.client_secret).json()["access_token"]
    assert command(b.url, old_token)[0] == 200
    fresh = app_a.extensions["gateway"].accounts.regenerate_secret(client_id)
    assert command(b.url, old_token)[0] == 401
    assert get_token(b.url, client_id, creds.client_secret).status_code == 401
    new_token = get_token(b.url, client_id, fresh.client_secret).json()["access_token"]
    assert command(a.url, new_token)[0] == 200


def test_the_token_cap_holds_across_nodes(nodes):
    creds, a, b, _ = nodes
    tokens = [
        get_token(node.url, creds.account.client_id, creds.client_secret).json()["access_token"]
        for node in [a, b] * 15 + [b]
    ]
    assert command(a.url, tokens[0])[0] == command(b.url, tokens[0])[0] == 401, (
        "the 31st token evicted the first"
    )
    assert all(command(node.url, tokens[1])[0] == 200 for node in (a, b))
    assert all(command(a.url, token)[0] == 200 for token in tokens[1:])


def test_a_journal_wait_on_one_node_sees_the_calls_another_node_answers(nodes):
    """The journal is rows of the shared database: a wait on node A is answered by calls made on B."""
    import concurrent.futures

    from gateway.admin_client import AdminClient, Credentials

    creds, a, b, app_a = nodes
    admin = app_a.extensions["gateway"].accounts.create("waiter", "deny", admin=True)
    client = AdminClient(a.url, Credentials("waiter", admin.account.client_id, admin.client_secret))
    client.bearer()
    token = get_token(b.url, creds.account.client_id, creds.client_secret).json()["access_token"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(client.journal_wait, 2, 50.0, action="get_connected_clients")
        assert [command(b.url, token)[0] for _ in range(2)] == [200, 200]
        answer = waiting.result(timeout=60)
    assert answer["satisfied"] is True and answer["count"] == 2
    [first, second] = client.verify(2, action="get_connected_clients")
    assert first["account"] == second["account"] == creds.account.client_id
