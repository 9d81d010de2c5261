"""End to end on real gunicorn: nothing acknowledged is lost when workers are killed mid-stream,
and the simulator feeds a remote gateway over HTTP exactly as it feeds its own registry."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from gateway.clock import Clock
from gateway.oauth.accounts import AccountService
from gateway.registry.model import ClientQuery
from gateway.registry.service import Registry
from gateway.seeding import fixtures
from gateway.seeding.simulator import Simulator
from gateway.seeding.sinks import HttpSink, LocalSink, run
from gateway.storage import open_store
from gateway.storage.migrate import upgrade
from gateway.xml.clients import render_client
from tests.conftest import assert_wire_body
from tests.server import start
from tests.xmlutil import parse

pytestmark = pytest.mark.e2e


def prepare(url: str):
    store = open_store(url)
    upgrade(store)
    creds = AccountService(store, Clock()).create("feeder", "read_only", feed=True)
    store.close()
    return creds


def token_for(base: str, creds) -> str:
    response = requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
        timeout=10,
    )
    return response.json()["access_token"]


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_acknowledged_writes_survive_killed_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    creds = prepare(url)
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=2)
    headers = {"Authorization": f"Bearer {token_for(server.url, creds)}"}
    acknowledged_clients: dict[int, str] = {}
    acknowledged_events: list[tuple[int, str]] = []
    failures: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def writer(name: str) -> None:
        session = requests.Session()
        for i in range(100_000):
            if stop.is_set():
                return
            hostname = f"{name}-{i}"
            body = {
                "type": "push_agent",
                "hostname": hostname,
                "platform": "Linux",
                "platform_id": "linux-x86_64",
                "name": hostname,
                "connections": [{"appliance_id": "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00"}],
            }
            try:
                response = session.post(
                    f"{server.url}/api/v1/clients", json=body, headers=headers, timeout=15
                )
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                client_id = response.json()["id"]
                with lock:
                    acknowledged_clients[client_id] = hostname
                for k in range(2):
                    text = f"{hostname} event {k}"
                    response = session.post(
                        f"{server.url}/api/v1/clients/{client_id}/events",
                        json={"text": text},
                        headers=headers,
                        timeout=15,
                    )
                    if response.status_code == 200:
                        with lock:
                            acknowledged_events.append((client_id, text))
            except requests.RequestException:
                session = requests.Session()  # the worker died under this request: not acknowledged

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        for round_ in range(3):
            target = len(acknowledged_clients) + 25
            wait_for(lambda target=target: len(acknowledged_clients) >= target)
            victims = server.worker_pids()
            os.kill(victims[round_ % len(victims)], signal.SIGKILL)
        wait_for(lambda: len(acknowledged_clients) >= target + 25)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for pid in server.worker_pids():  # then the whole server dies without a chance to flush anything
            os.kill(pid, signal.SIGKILL)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    assert not failures, failures[:3]

    again = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn2.log", workers=2)
    try:
        ids = sorted(acknowledged_clients)
        seen: dict[int, tuple[str, list[str]]] = {}
        for chunk in range(0, len(ids), 100):
            response = requests.get(
                f"{again.url}/api/command",
                headers=headers,
                timeout=30,
                params={
                    "action": "get_connected_clients",
                    "include_connections": 1,
                    "id": ",".join(map(str, ids[chunk : chunk + 100])),
                },
            )
            assert_wire_body(
                response.status_code,
                response.headers["Content-Type"],
                response.content,
                "https://www.beyondtrust.com/namespaces/API/command",
            )
            for element in parse(response.content):
                seen[int(element.get("id"))] = (
                    element.findtext("{*}hostname"),
                    [e.text for e in element.iterfind("{*}client_connections/{*}event_log/{*}event")],
                )
        assert {i: seen[i][0] for i in ids if i in seen} == acknowledged_clients
        assert set(ids) <= set(seen), f"lost {sorted(set(ids) - set(seen))[:10]}"
        for client_id, text in acknowledged_events:
            assert text in seen[client_id][1], (client_id, text)
        assert len(acknowledged_clients) >= 100 and len(acknowledged_events) >= 150
    finally:
        again.stop()


def test_the_simulator_feeds_a_remote_gateway_like_its_own_registry(tmp_path):
    url = f"sqlite:///{tmp_path / 'remote.db'}"
    creds = prepare(url)
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=2)
    try:
        counts = run(
            Simulator(21, 1_790_000_000, 10),
            HttpSink(server.url, creds.account.client_id, creds.client_secret),
            steps=120,
            pace=False,
        )
        assert counts["operations"] >= 120
    finally:
        server.stop()
    remote = open_store(url)
    local_store = open_store(f"sqlite:///{tmp_path / 'local.db'}")
    upgrade(local_store)
    local = Registry(local_store, Clock(), render_client)
    run(Simulator(21, 1_790_000_000, 10), LocalSink(local), steps=120, pace=False)

    def document(store):
        return fixtures.document(
            store.registry.list_appliances(), store.registry.list_clients(ClientQuery(), with_events=True)
        )

    assert document(remote) == document(local_store)
    remote.close()
    local_store.close()


def test_the_simulator_drives_sessions_on_a_remote_gateway(tmp_path):
    """--sessions over HTTP: keys from generate_session_key, redeemed through the feed, transfers and
    terminations through the command API (an account with full_access and the feed permission)."""
    from gateway.registry.session_service import Sessions
    from gateway.seeding import site

    url = f"sqlite:///{tmp_path / 'remote.db'}"
    store = open_store(url)
    upgrade(store)
    creds = AccountService(store, Clock()).create("integration", "full_access", feed=True)
    registry = Registry(store, Clock(), render_client)
    Sessions(store, registry, Clock()).configure_site(*site.site_for([]))
    store.close()
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=2)
    try:
        simulator = Simulator(11, 1_790_000_000, 20, sessions=True)
        counts = run(
            simulator,
            HttpSink(server.url, creds.account.client_id, creds.client_secret),
            steps=300,
            pace=False,
        )
        assert counts["key_session"] and counts["session_transfer"] and counts["session_terminate"]
    finally:
        server.stop()
    remote = open_store(url)
    keyed = [s for s in remote.sessions.list_sessions(active_only=False) if s.short_key]
    assert len(keyed) == counts["key_session"]
    assert len([s for s in keyed if s.active]) == len(simulator.keyed)
    remote.close()
