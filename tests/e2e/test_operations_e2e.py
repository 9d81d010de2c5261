"""Operating a served gateway (real gunicorn): one JSON log stream, gunicorn's access and error lines
included, a request id on every line; the live-streams gauge summed over the workers."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.controls.test_controls_observability import sample
from tests.server import prepare, start

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    creds = prepare(url)
    server = start(
        {
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_ACCESS_LOG": "-",
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_STREAM_HEARTBEAT_SECONDS": "0.2",
        },
        tmp_path / "gunicorn.log",
        workers=2,
    )
    try:
        response = requests.post(
            f"{server.url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
            timeout=30,
        )
        yield server, {"Authorization": f"Bearer {response.json()['access_token']}"}
    finally:
        server.stop()


def streams_open(base: str) -> float:
    return sample(requests.get(f"{base}/metrics", timeout=10).text, "gateway_active_streams")


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_every_log_line_is_json_with_a_request_id_and_no_secret(served):
    server, auth = served
    given = requests.get(
        f"{server.url}/api/command",
        params={"action": "get_api_info"},
        headers={**auth, "X-Request-Id": "trace-0001"},
        timeout=10,
    )
    assert given.headers["X-Request-ID"] == "trace-0001"
    generated = requests.get(f"{server.url}/livez", timeout=10)
    assert generated.json() == {"status": "ok"}
    generated_id = generated.headers["X-Request-ID"]
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /api/command?action=get_api_info&password=SECRET-PASS HTTP/1.1 extra\r\n\r\n")
        while sock.recv(65536):
            pass
    server.stop()

    log = server.log.read_text()
    assert "SECRET-PASS" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert all("request_id" in line and "time" in line and "level" in line for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access", "gateway.request"} <= loggers
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["trace-0001"]["path"] == "/api/command" and by_id["trace-0001"]["status"] == 200
    assert by_id[generated_id]["path"] == "/livez" and by_id[generated_id]["method"] == "GET"
    assert {line["request_id"] for line in lines if line["logger"] == "gateway.request"} >= {
        "trace-0001",
        generated_id,
    }
    assert any(line["message"].startswith("Booting worker") for line in lines), "gunicorn's own lines"


def test_active_streams_are_counted_over_the_workers(served):
    server, auth = served
    assert streams_open(server.url) == 0
    streams = [
        requests.get(f"{server.url}/api/v1/events", headers=auth, stream=True, timeout=30) for _ in range(3)
    ]
    try:
        assert all(s.status_code == 200 for s in streams)
        assert wait_until(lambda: streams_open(server.url) == 3)
    finally:
        for stream in streams:
            stream.close()
    assert wait_until(lambda: streams_open(server.url) == 0), "closed streams leave the gauge"
