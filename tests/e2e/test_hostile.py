"""Hostile clients against a real gunicorn: slow and malformed bodies cannot stall normal clients or get
an answer the faces do not give (issue 15). Loopback only; every attack is bounded in count and time."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from gateway.config import NAMESPACE_PRESETS
from tests.conftest import assert_wire_body
from tests.server import prepare, start

pytestmark = pytest.mark.e2e
NAMESPACE = NAMESPACE_PRESETS["beyondtrust"]


@pytest.fixture
def server(tmp_path, migrated_sqlite):
    import shutil

    path = tmp_path / "gateway.db"
    shutil.copyfile(migrated_sqlite, path)
    url = f"sqlite:///{path}"
    creds = prepare(url, permission="full_access", feed=True)
    running = start(
        {
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_BODY_TIMEOUT": "2",
            "GATEWAY_HEADER_TIMEOUT": "2",
            "GATEWAY_FEED_MAX_BODY": str(2 << 20),
        },
        tmp_path / "gunicorn.log",
        workers=4,
    )  # make run's default on this machine
    token = requests.post(
        f"{running.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
        timeout=10,
    ).json()["access_token"]
    running.token = token
    yield running
    running.stop()


def _open(url: str) -> socket.socket:
    host, port = url.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _exchange(url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` on a new connection and read the whole answer (the server closes after it)."""
    with _open(url) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if not size:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2 :]
        body = decoded
    return int(lines[0].split()[1]), headers, body


def _post_chunked(server, path: str, content_type: str, body: bytes, size: int = 65536) -> tuple:
    """POST ``body`` in chunks of ``size`` bytes (Transfer-Encoding: chunked) and read the whole answer."""
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
        f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    return _exchange(server.url, head.encode() + chunks + b"0\r\n\r\n")


def _command(server, **params) -> requests.Response:
    return requests.get(
        f"{server.url}/api/command",
        params=params,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )


def test_slow_bodies_do_not_stall_normal_clients(server):
    """Forty clients send their headers and part of a body, then nothing: normal requests are still answered
    at once, and the slow ones get 408 when their time is up."""
    slow = []
    try:
        for index in range(40):
            sock = _open(server.url)
            path = "/oauth2/token" if index % 2 else "/api/command"
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: 100\r\n\r\naction=get".encode()
            )
            slow.append(sock)
        started = time.monotonic()
        answers = [_command(server, action="get_api_info") for _ in range(5)]
        elapsed = time.monotonic() - started
        for answer in answers:
            assert answer.status_code == 200
            assert_wire_body(answer.status_code, answer.headers["Content-Type"], answer.content, NAMESPACE)
        assert elapsed < 5, f"five normal requests took {elapsed:.1f} s beside forty slow bodies"
        slow[0].settimeout(15)
        reply = slow[0].recv(65536)
        assert b" 408 " in reply.split(b"\r\n", 1)[0], reply[:200]
    finally:
        for sock in slow:
            sock.close()


def test_slow_headers_do_not_stall_normal_clients(server):
    """A hundred clients (more than the threads of all four workers) send part of their headers, then nothing:
    each is cut off when its header time is up, and normal requests are answered meanwhile."""
    slow = []
    try:
        for _ in range(100):
            sock = _open(server.url)
            sock.sendall(b"GET /api/command?action=get_api_info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        started = time.monotonic()
        answers = [_command(server, action="get_api_info") for _ in range(6)]
        elapsed = time.monotonic() - started
        assert [a.status_code for a in answers] == [200] * 6
        # every slow client is cut off GATEWAY_HEADER_TIMEOUT (2 s) after it connected
        assert elapsed < 8, f"six normal requests took {elapsed:.1f} s beside a hundred slow-header clients"
        slow[0].settimeout(20)
        assert slow[0].recv(100) == b"", "a client that never finishes its headers is disconnected"
    finally:
        for sock in slow:
            sock.close()


def test_idle_connections_do_not_stall_normal_clients(server):
    """Three hundred connections that send nothing: normal requests are answered within the header time."""
    idle = [_open(server.url) for _ in range(300)]
    try:
        started = time.monotonic()
        answers = [_command(server, action="get_api_info") for _ in range(5)]
        elapsed = time.monotonic() - started
        assert [a.status_code for a in answers] == [200] * 5
        assert elapsed < 8, f"five normal requests took {elapsed:.1f} s beside 300 idle connections"
    finally:
        for sock in idle:
            sock.close()


def test_a_chunked_body_over_the_cap_is_413_not_truncated(server):
    pad = "x" * (1 << 20)
    body = f"action=get_connected_clients&id=5&pad={pad}&id=6".encode()
    status, headers, answer = _post_chunked(server, "/api/command", "application/x-www-form-urlencoded", body)
    assert status == 413, answer[:300]
    assert_wire_body(status, headers["content-type"], answer, NAMESPACE)
    assert headers["content-type"].startswith("text/xml")


def test_a_chunked_json_body_over_the_cap_is_413_json(server):
    body = b'{"clients": ["' + b"x" * (3 << 20) + b'"]}'
    status, headers, answer = _post_chunked(server, "/api/v1/batch", "application/json", body)
    assert status == 413, answer[:300]
    assert headers["content-type"].startswith("application/json")


def test_a_small_chunked_body_is_read_whole(server):
    body = b"action=get_connected_clients&id=1&id=2"
    status, headers, answer = _post_chunked(
        server, "/api/command", "application/x-www-form-urlencoded", body, 1
    )
    assert status == 200, answer[:300]
    assert_wire_body(status, headers["content-type"], answer, NAMESPACE)
    assert answer.count(b"<connected_") >= 1


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/api/command", "application/x-www-form-urlencoded"),
        ("/oauth2/token", "application/x-www-form-urlencoded"),
        ("/api/v1/batch", "application/json"),
    ],
)
def test_an_invalid_chunk_size_is_400_not_500(server, path, content_type):
    status, headers, answer = _exchange(
        server.url,
        (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n"
            f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        ).encode(),
    )
    assert 400 <= status < 500, answer[:300]
    assert_wire_body(status, headers.get("content-type", ""), answer, NAMESPACE)


@pytest.mark.parametrize(
    "line",
    [
        b"GET /api/command.ns?action=get_api_info&password=SECRET-PASS&x=%01 HTTP/1.1",
        b"GET /api/command?action=get_api_info&password=SECRET-PASS&x=\x01 HTTP/1.1",
        b"GET /api/command?action=get_api_info&password=SECRET-PASS HTTP/1.1 extra",
    ],
)
def test_malformed_requests_get_the_faces_error_and_no_secret_is_logged(server, line):
    status, headers, answer = _exchange(
        server.url, line + b"\r\nHost: x\r\nAuthorization: Bearer SECRET-TOKEN\r\n\r\n"
    )
    assert status < 500, answer[:300]
    assert_wire_body(status, headers.get("content-type", ""), answer, NAMESPACE)
    assert requests.get(f"{server.url}/check_health", timeout=10).status_code == 200
    log = server.log.read_text()
    assert "SECRET-PASS" not in log and "SECRET-TOKEN" not in log


def test_no_shared_control_socket_by_default(tmp_path, migrated_sqlite):
    """gunicorn's control socket has one default path per user: a second gateway on the host took it over."""
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(migrated_sqlite, tmp_path / "gateway.db")
    running = start(
        {
            "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(home),
        },
        tmp_path / "gunicorn.log",
        workers=1,
    )
    try:
        assert requests.get(f"{running.url}/check_health", timeout=10).status_code == 200
        assert not [p for p in home.rglob("*") if p.name.endswith(".ctl")]
    finally:
        running.stop()


def test_the_gunicorn_settings_serve_another_wsgi_app(tmp_path):
    """The benchmark serves its baseline app with these settings: a WSGI app without the gateway's settings
    gets the defaults (its workers failed to boot on a missing setting)."""
    running = start(
        {}, tmp_path / "gunicorn.log", workers=1, app="bench.fixed_app:app", ready_path="/api/command"
    )
    try:
        assert requests.get(f"{running.url}/api/command", timeout=10).status_code == 200
    finally:
        running.stop()


def _status_line(url: str, raw: bytes) -> str:
    with _open(url) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


@pytest.mark.parametrize(
    "raw, line",
    [
        # the app's answers, through gunicorn
        (b"GET /api/command?action=get_api_info HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 401 Unauthorized"),
        (b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (b"DELETE /api/command HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
        (b"GET /check_health HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK"),
        # what gunicorn refuses itself (gateway/worker.py answers in the face's format)
        (b"GET /api/command?x=\x01 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ],
)
def test_status_lines_carry_the_reason_phrases_common_servers_write(server, raw, line):
    assert _status_line(server.url, raw) == line
