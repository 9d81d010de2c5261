"""The journal's long poll on real gunicorn: it waits beside the worker's request gate (a worker that
holds a wait still answers), and a wait on one worker sees what another worker recorded."""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import subprocess
import threading
from contextlib import ExitStack

import pytest
import requests

from gateway.admin_client import AdminClient, Credentials
from tests.server import prepare, start

pytestmark = pytest.mark.e2e


def _until_streams(base: str, count: int) -> None:
    """Until the gateway reports ``count`` open streams and waits (gateway_active_streams), bounded."""
    for _ in range(400):
        metrics = requests.get(f"{base}/metrics", timeout=10).text
        lines = [line for line in metrics.splitlines() if line.startswith("gateway_active_streams")]
        if lines and float(lines[0].split()[-1]) >= count:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"the gateway never reported {count} open streams: {lines}")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_wait_answers_as_the_calls_come(tmp_path, workers):
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    admin = prepare(url, "admin", "read_only", admin=True)
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=workers)
    try:
        assert len(server.wait_for_workers(workers)) == workers
        client = AdminClient(server.url, Credentials("admin", admin.account.client_id, admin.client_secret))
        bearer = client.token(client.admin)
        client.bearer()  # the admin token before the wait, so the wait is the only call in flight
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(client.journal_wait, 3, 50.0, action="get_api_info")
            # the wait is in flight (it holds a stream slot) before the calls it waits for are made
            _until_streams(server.url, 1)
            # on one worker the wait holds a thread, beside the gate: these calls are still answered
            statuses = [
                requests.get(
                    f"{server.url}/api/command",
                    params={"action": "get_api_info"},
                    headers={"Authorization": f"Bearer {bearer}", "Connection": "close"},
                    timeout=20,
                ).status_code
                for _ in range(3)
            ]
            answer = waiting.result(timeout=60)
        assert statuses == [200, 200, 200]
        assert answer["satisfied"] is True and answer["count"] == 3 and answer["waited"] < 50
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


def _journal_setup(tmp_path, workers: int):
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    admin = prepare(url, "admin", "read_only", admin=True)
    server = start(
        {"GATEWAY_DATABASE_URL": url, "GATEWAY_REQUEST_LOG": "false"},
        tmp_path / "gunicorn.log",
        workers=workers,
    )
    client = AdminClient(server.url, Credentials("admin", admin.account.client_id, admin.client_secret))
    return url, server, client


def test_each_call_is_in_the_journal_as_soon_as_it_is_answered_whichever_worker_reads(tmp_path):
    """Entries are written behind the answers (SQLite): a read on any worker waits for what every worker
    recorded before it began, so each call is found right after its answer."""
    _url, server, client = _journal_setup(tmp_path, workers=2)
    try:
        assert len(server.wait_for_workers(2)) == 2
        headers = {**client.bearer(), "Connection": "close"}  # each request on a new connection: any worker
        for n in range(40):
            rid = f"e2e-journal-{n:04d}"
            answer = requests.get(
                f"{server.url}/api/command",
                params={"action": "get_api_info"},
                headers={**headers, "X-Request-ID": rid},
                timeout=30,
            )
            assert answer.status_code == 200
            assert client.journal_count(request_id=rid) == 1, f"call {n} was not in the journal yet"
    finally:
        server.stop()


def test_a_graceful_stop_writes_every_entry_its_workers_still_held(tmp_path):
    """While another connection holds the database's write lock, answered calls' entries wait in the
    workers; a graceful stop writes them all before the workers end."""
    from gateway.storage import open_store

    url, server, client = _journal_setup(tmp_path, workers=2)
    headers = client.bearer()
    other = open_store(url)
    locked = ExitStack()
    try:
        locked.enter_context(other.database.write())
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(
                    lambda n: (
                        requests.get(
                            f"{server.url}/api/command",
                            params={"action": "get_api_info", "n": str(n)},
                            headers={**headers, "Connection": "close"},
                            timeout=30,
                        ).status_code
                    ),
                    range(40),
                )
            )
        assert answers == [200] * 40
        server.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(0.5)
        assert server.process.poll() is None, "the workers ended before writing their entries"
        locked.close()  # the lock is free: the workers write their entries and end
        assert server.process.wait(30) == 0
        assert other.journal.count_journal(action="get_api_info") == 40
    finally:
        locked.close()
        other.close()
        server.stop()
