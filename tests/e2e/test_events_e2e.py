"""Live event streams on real gunicorn: streams never starve ordinary requests (more streams than workers),
each worker caps its streams with 503 + Retry-After, a graceful stop ends them, and on PostgreSQL a write
through node A reaches a stream on node B."""

from __future__ import annotations

import time

import pytest
import requests

from gateway.clock import Clock
from gateway.oauth.accounts import AccountService
from gateway.storage import open_store
from tests import populations
from tests.conftest import assert_wire_body
from tests.server import prepare, start
from tests.sse import StreamReader

pytestmark = pytest.mark.e2e

NAMESPACE = "https://www.beyondtrust.com/namespaces/API/command"
#: Frequent heartbeats: closing a stream here waits for the reader thread's pending read, i.e. the next chunk.
FAST = {"GATEWAY_STREAM_HEARTBEAT_SECONDS": "0.5", "GATEWAY_REQUEST_LOG": "false"}
JUMPOINT = {
    "type": "push_agent",
    "hostname": "jp-new",
    "name": "Jumpoint New",
    "platform_id": "linux-x86_64",
    "platform": "Debian GNU/Linux 12 (x86_64)",
    "connections": [{"appliance_id": populations.PRIMARY, "private_ip": "10.0.0.77"}],
}


def token(base: str, creds) -> dict:
    response = requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
        timeout=30,
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def open_stream(base: str, auth: dict, **params) -> StreamReader:
    response = requests.get(f"{base}/api/v1/events", params=params, headers=auth, stream=True, timeout=30)
    assert response.status_code == 200, response.text
    return StreamReader(response)


def accounts(url: str):
    """Migrate and load the small population; (a read_only account, a feed-only account)."""
    reader = prepare(url)
    store = open_store(url)
    try:
        return reader, AccountService(store, Clock()).create("feeder", "deny", feed=True)
    finally:
        store.close()


@pytest.fixture
def server(tmp_path, database_url):
    """One gateway (2 workers, the default worker model) with a read_only and a feed account."""
    reader, feeder = accounts(database_url)
    node = start(
        {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_STREAM_MAX_SECONDS": "120", **FAST},
        tmp_path / "gunicorn.log",
        workers=2,
    )
    yield node, token(node.url, reader), token(node.url, feeder)
    node.stop()


def test_more_streams_than_workers_and_ordinary_requests_are_still_answered(server):
    node, read, feed = server
    streams = [open_stream(node.url, read) for _ in range(6)]  # 3 times the workers
    try:
        started = time.monotonic()
        for _ in range(20):
            response = requests.get(
                f"{node.url}/api/command",
                params={"action": "get_connected_clients", "id": 101},
                headers=read,
                timeout=5,
            )
            assert response.status_code == 200
            assert_wire_body(
                response.status_code, response.headers["Content-Type"], response.content, NAMESPACE
            )
        assert time.monotonic() - started < 20, "ordinary requests waited behind the streams"
        created = requests.post(f"{node.url}/api/v1/clients", json=JUMPOINT, headers=feed, timeout=10)
        assert created.status_code == 201
        new_id = created.json()["id"]
        for stream in streams:  # every stream, whichever worker holds it, sees the write
            [event] = stream.wait_for(lambda e: e["event"] == "connect")
            assert event["data"]["client_id"] == new_id
    finally:
        for stream in streams:
            stream.close()


def test_a_worker_refuses_streams_beyond_its_cap_but_not_other_requests(tmp_path, database_url):
    creds = prepare(database_url)
    node = start(
        {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_STREAMS_PER_WORKER": "2", **FAST},
        tmp_path / "gunicorn.log",
        workers=1,
    )
    try:
        auth = token(node.url, creds)
        streams = [open_stream(node.url, auth) for _ in range(2)]
        refused = requests.get(f"{node.url}/api/v1/events", headers=auth, timeout=10)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "3"
        assert refused.json()["error"] == "too_many_streams"
        assert requests.get(f"{node.url}/api/v1/clients", headers=auth, timeout=5).status_code == 200
        streams[0].close()
        # The worker notices a closed stream when it next writes to it (a heartbeat at the latest).
        deadline = time.monotonic() + 15
        while True:
            again = requests.get(f"{node.url}/api/v1/events", headers=auth, stream=True, timeout=10)
            again.close()
            if again.status_code == 200:
                break
            assert time.monotonic() < deadline, "the slot of a closed stream was never given back"
            time.sleep(0.2)
        streams[1].close()
    finally:
        node.stop()


def test_a_graceful_stop_ends_open_streams(tmp_path, database_url):
    creds = prepare(database_url)
    node = start(
        {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_STREAM_MAX_SECONDS": "600",
            "GATEWAY_REQUEST_LOG": "false",
        },
        tmp_path / "gunicorn.log",
        workers=1,
    )  # heartbeats every 15 s
    stream = open_stream(node.url, token(node.url, creds))
    try:
        node.stop()
        stream.thread.join(timeout=15)
        assert not stream.thread.is_alive(), "the stream outlived the server"
        assert stream.text.rstrip().endswith(": stream ends; reconnect with Last-Event-ID")
        assert node.process.returncode == 0
    finally:
        stream.close()


@pytest.mark.postgres
def test_a_write_through_node_a_reaches_a_stream_on_node_b(tmp_path, postgres_url):
    reader, feeder = accounts(postgres_url)
    env = {"GATEWAY_DATABASE_URL": postgres_url, **FAST}
    a = start(env, tmp_path / "node-a.log")
    b = start(env, tmp_path / "node-b.log")
    try:
        on_b = open_stream(b.url, token(b.url, reader))
        feed = token(a.url, feeder)
        created = requests.post(f"{a.url}/api/v1/clients", json=JUMPOINT, headers=feed, timeout=10)
        assert created.status_code == 201
        new_id = created.json()["id"]
        [connect] = on_b.wait_for(lambda e: e["event"] == "connect")
        assert (
            connect["data"]["client_id"] == new_id
            and connect["data"]["payload"]["client"]["hostname"] == "jp-new"
        )
        assert (
            requests.post(
                f"{a.url}/api/v1/clients/{new_id}/disconnect",
                json={"initiator": "network"},
                headers=feed,
                timeout=10,
            ).status_code
            == 200
        )
        [gone] = on_b.wait_for(lambda e: e["event"] == "disconnect")
        assert int(gone["id"]) > int(connect["id"]) and gone["data"]["payload"]["initiator"] == "network"
        on_b.close()
        # Ids are the same on every node: resume on node A after what node B sent.
        resumed = requests.get(
            f"{a.url}/api/v1/events",
            headers={**token(a.url, reader), "Last-Event-ID": connect["id"]},
            stream=True,
            timeout=10,
        )
        on_a = StreamReader(resumed)
        assert [e["id"] for e in on_a.wait_for(lambda e: e["event"] == "disconnect")] == [gone["id"]]
        on_a.close()
    finally:
        a.stop()
        b.stop()
