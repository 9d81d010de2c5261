"""The pytest plugin as a project using it runs it: a separate pytest process, in-process or remote
gateway."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gateway.clock import Clock
from gateway.oauth.accounts import AccountService
from gateway.storage import open_store
from gateway.storage.migrate import upgrade
from tests.server import start

INNER_TESTS = """
import json
import urllib.request

import pytest


def call(gateway, creds, action):
    token = gateway.token(creds)
    request = urllib.request.Request(f"{gateway.url}/api/command?action={action}",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_first_changes_everything(gateway):
    creds = gateway.account("read_only")
    rule = gateway.fault(action="get_api_info", error=503, account=creds)
    assert rule["match"]["account"] == creds.client_id
    assert call(gateway, creds, "get_api_info")[0] == 503
    gateway.clock.advance(86400)
    gateway.rate_limit(per_second=5)
    assert [e["status"] for e in gateway.journal(action="get_api_info")] == [503]
    LOAD


def test_second_starts_clean(gateway):
    assert gateway.faults() == []
    assert abs(gateway.clock.now() - __import__("time").time()) < 60
    assert gateway.journal() == []
    creds = gateway.account("read_only")
    status, body = call(gateway, creds, "get_connected_clients")
    assert status == 200 and b"NAMESPACE" in body
    assert CLIENTS_GONE
"""


def run_pytest(tmp_path, source: str, *args: str, conftest: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "test_inner.py").write_text(source)
    (tmp_path / "conftest.py").write_text(conftest)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_in_process_gateway_is_isolated_per_test(tmp_path):
    source = (
        INNER_TESTS.replace(
            "LOAD",
            textwrap.dedent("""
        gateway.load_clients(appliances=[{"id": "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00", "name": "a",
                                          "hostname": "a", "public_hostname": "a"}],
                             clients=[{"id": 5, "type": "push_agent", "hostname": "jp", "platform": "Linux",
                                       "platform_id": "linux", "timezone_offset": 0,
                                       "connected_since": 1790000000, "name": "Jumpoint"}])
        with pytest.raises(AssertionError, match="clients.0.hostname"):
            gateway.load_clients(clients=[{"type": "push_agent", "name": "no hostname"}])
        assert b"connected_push_agent" in call(gateway, creds, "get_connected_clients")[1], (
            "a bad load changes nothing"
        )""")
            .strip()
            .replace("\n", "\n    "),
        )
        .replace("NAMESPACE", "http://www.bomgar.com/namespaces/API/command")
        .replace("CLIENTS_GONE", 'b"connected_push_agent" not in body')
    )
    conftest = (
        'import pytest\n\n@pytest.fixture(scope="session")\n'
        'def gateway_config():\n    return {"NAMESPACE": "bomgar"}\n'
    )
    result = run_pytest(tmp_path, source, conftest=conftest)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.fixture
def remote(tmp_path):
    """A gunicorn gateway (two workers) on a fresh database, and the --gateway-url/--gateway-admin arguments
    of its admin account; the folder ``inner`` for the inner test run."""
    url = f"sqlite:///{tmp_path / 'remote.db'}"
    store = open_store(url)
    upgrade(store)
    admin = AccountService(store, Clock()).create("harness", "deny", admin=True, feed=True)
    store.close()
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=2)
    (tmp_path / "inner").mkdir()
    try:
        yield (
            server,
            [
                "--gateway-url",
                server.url,
                "--gateway-admin",
                f"{admin.account.client_id}:{admin.client_secret}",
            ],
        )
    finally:
        server.stop()


@pytest.mark.e2e
def test_a_running_gateway_through_its_admin_api(tmp_path, remote):
    server, arguments = remote
    source = (
        INNER_TESTS.replace("LOAD", 'gateway.load_fixture("small")')
        .replace("NAMESPACE", "https://www.beyondtrust.com/namespaces/API/command")
        .replace("CLIENTS_GONE", 'b"connected_representative" not in body')
    )
    result = run_pytest(tmp_path / "inner", source, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    missing = run_pytest(tmp_path / "inner", source, "--gateway-url", server.url)
    assert missing.returncode != 0 and "--gateway-admin" in missing.stderr


VERIFY_TESTS = """
import threading
import urllib.request

import pytest


def call(gateway, token, action):
    request = urllib.request.Request(f"{gateway.url}/api/command?action={action}",
                                     headers={"Authorization": f"Bearer {token}", "X-Trace": "t-1"})
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


def test_verify_says_what_was_expected_what_came_and_the_closest(gateway):
    creds = gateway.account("read_only")
    token = gateway.token(creds)
    call(gateway, token, "get_api_info")
    call(gateway, token, "nonsense")
    [entry] = gateway.verify(1, action="get_api_info", account=creds)
    assert entry["headers"]["X-Trace"] == "t-1" and entry["headers"]["Authorization"] == "[redacted]"
    [unknown] = gateway.verify(1, has_error=True, face="command")
    assert unknown["status"] == 200 and "nonsense" in unknown["error"]
    assert gateway.journal_count(face="command") == 2
    with pytest.raises(AssertionError) as failed:
        gateway.verify(2, action="get_api_info", status=503)
    text = str(failed.value)
    assert "Expected 2 journal entries matching action='get_api_info', status=503; found 0." in text
    assert "Closest other entries" in text and "status 200 != 503" in text
    with pytest.raises(AssertionError, match="found 1"):
        gateway.verify(0, action="get_api_info")


def test_wait_for_an_asynchronous_client(gateway):
    token = gateway.token(gateway.account("read_only"))
    poller = threading.Thread(
        target=lambda: [call(gateway, token, "get_connected_clients") for _ in range(3)]
    )
    poller.start()
    entries = gateway.wait_for(3, timeout=30, action="get_connected_clients")
    poller.join()
    assert [e["status"] for e in entries] == [200, 200, 200]
    with pytest.raises(AssertionError) as failed:
        gateway.wait_for(1, timeout=0.2, action="never_called")
    assert "Expected at least 1 journal entries matching action='never_called' within 0.2 s; found 0." in str(
        failed.value
    )
"""


def test_verify_and_wait_for_in_process(tmp_path):
    result = run_pytest(tmp_path, VERIFY_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.e2e
def test_verify_and_wait_for_on_a_running_gateway(tmp_path, remote):
    """Two workers: the wait sits on one while the other may record the calls it waits for."""
    _, arguments = remote
    result = run_pytest(tmp_path / "inner", VERIFY_TESTS, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
