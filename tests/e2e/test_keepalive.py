"""Kept-alive connections on a real gunicorn: kept by default, each for at most GATEWAY_KEEPALIVE_REQUESTS
requests (the last answered with ``Connection: close``, then closed), and closed after every command
answer with GATEWAY_CONNECTION_CLOSE (gateway/worker.py)."""

from __future__ import annotations

import socket

import pytest

from gateway.config import NAMESPACE_PRESETS
from tests.conftest import assert_wire_body
from tests.server import serving

pytestmark = pytest.mark.e2e
NAMESPACE = NAMESPACE_PRESETS["beyondtrust"]


def _serving(tmp_path, migrated_sqlite, settings: dict[str, str]):
    # An idle connection is kept a minute: a close seen within the test is the one the answer announced.
    env = {"GATEWAY_REQUEST_LOG": "false", "GATEWAY_KEEPALIVE": "60", **settings}
    return serving(tmp_path, migrated_sqlite, env, workers=1)


class _Connection:
    """One raw connection: requests sent on it one after the other, each answer read by its length."""

    def __init__(self, url: str, source: str = ""):
        host, port = url.rsplit("//", 1)[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
        self.buffer = b""

    def ask(self, path: str, token: str) -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        return self.answer(path)

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """The next answer on the connection (to a request for ``path``), its body checked."""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        if headers.get("transfer-encoding") == "chunked":  # a document streamed as it is rendered
            body = b""
            while True:
                size = int(self._line(), 16)
                chunk = self._take(size + 2)  # the chunk and its line end (the last: the end, no trailers)
                assert chunk.endswith(b"\r\n")
                if not size:
                    break
                body += chunk[:-2]
        else:
            body = self._take(int(headers["content-length"]))
        status = int(lines[0].split()[1])
        assert_wire_body(status, headers.get("content-type", ""), body, NAMESPACE, path)
        return status, headers, body

    def _take(self, length: int) -> bytes:
        """The next ``length`` bytes."""
        while len(self.buffer) < length:
            self.buffer += self._more()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self.buffer += self._more()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _more(self) -> bytes:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection before its answer was whole"
        return chunk

    def closed_by_server(self) -> bool:
        """Whether the server has closed its end (reads end of file, or a reset)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def _closes_after_one_answer(url: str, path: str, token: str) -> None:
    """A new connection's first answer to ``path`` says ``Connection: close``; the server then closes it."""
    conn = _Connection(url)
    try:
        status, headers, _body = conn.ask(path, token)
        assert (status, headers["connection"]) == (200, "close")
        assert conn.closed_by_server()
    finally:
        conn.close()


COMMAND = "/api/command?action=get_api_info"
#: Another loopback address (all of 127.0.0.0/8 is this host) for connections counted on their own.
SOURCE = "127.0.0.2"


@pytest.fixture
def limited(tmp_path, migrated_sqlite):
    running = _serving(tmp_path, migrated_sqlite, {"GATEWAY_KEEPALIVE_REQUESTS": "3"})
    yield running
    running.stop()


def test_a_connection_is_kept_for_keepalive_requests_answers_then_closed(limited):
    for path in (COMMAND, "/api/v1/clients"):
        conn = _Connection(limited.url)
        try:
            said = []
            for _ in range(3):
                status, headers, _body = conn.ask(path, limited.token)
                assert status == 200
                said.append(headers["connection"])
            assert said == ["keep-alive", "keep-alive", "close"], path
            assert conn.closed_by_server(), "closed after the answer that said so"
        finally:
            conn.close()


def test_connection_close_closes_after_every_command_answer_only(tmp_path, migrated_sqlite):
    running = _serving(tmp_path, migrated_sqlite, {"GATEWAY_CONNECTION_CLOSE": "true"})
    try:
        _closes_after_one_answer(running.url, COMMAND, running.token)
        conn = _Connection(running.url)
        try:
            for _ in range(2):  # the JSON face keeps its connection
                status, headers, _body = conn.ask("/api/v1/clients", running.token)
                assert (status, headers["connection"]) == (200, "keep-alive")
            status, headers, _body = conn.ask(COMMAND, running.token)
            assert (status, headers["connection"]) == (200, "close")
            assert conn.closed_by_server()
        finally:
            conn.close()
    finally:
        running.stop()


def test_keepalive_zero_closes_after_every_answer(tmp_path, migrated_sqlite):
    running = _serving(tmp_path, migrated_sqlite, {"GATEWAY_KEEPALIVE": "0"})
    try:
        _closes_after_one_answer(running.url, "/api/v1/clients", running.token)
    finally:
        running.stop()


def test_a_new_connection_over_the_address_cap_takes_the_place_of_an_idle_kept_one(tmp_path, migrated_sqlite):
    """A browser keeps several connections: at the per-address cap, a new connection closes the address's
    oldest idle kept-alive one instead of being refused; connections that never sent a request are not
    evicted (tests/e2e/test_hostile.py)."""
    running = _serving(tmp_path, migrated_sqlite, {"GATEWAY_MAX_CONNECTIONS_PER_ADDRESS": "2"})
    # From an address of their own: the connection that fetched the token may not be closed yet.
    conns = []
    try:
        for _ in range(2):
            conns.append(_Connection(running.url, SOURCE))
            assert conns[-1].ask(COMMAND, running.token)[0] == 200
        conns.append(_Connection(running.url, SOURCE))
        status, headers, _body = conns[2].ask(COMMAND, running.token)
        assert (status, headers["connection"]) == (200, "keep-alive")
        assert conns[0].closed_by_server(), "the oldest idle connection made room"
        assert conns[1].ask(COMMAND, running.token)[0] == 200, "the other one is still kept"
        assert "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS" not in running.log.read_text(), "nobody was refused"
    finally:
        for conn in conns:
            conn.close()
        running.stop()


def test_requests_sent_together_are_answered_in_order_and_a_partial_next_one_meets_the_header_time(
    tmp_path, migrated_sqlite
):
    """The thread that answered a kept connection serves its next request at once when it is already
    there (gateway.worker NEXT_REQUEST_WAIT): two requests sent in one write get both answers in order,
    and a next request whose headers never end is cut off at GATEWAY_HEADER_TIMEOUT like any other."""
    running = _serving(tmp_path, migrated_sqlite, {"GATEWAY_HEADER_TIMEOUT": "1"})
    conn = _Connection(running.url)
    try:
        request = f"GET {{}} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {running.token}\r\n\r\n"
        conn.sock.sendall((request.format(COMMAND) + request.format("/api/v1/clients")).encode())
        first = conn.answer(COMMAND)
        second = conn.answer("/api/v1/clients")
        assert (first[0], first[1]["content-type"].split(";")[0]) == (200, "text/xml")
        assert (second[0], second[1]["content-type"].split(";")[0]) == (200, "application/json")
        # Another request and, in the same write, the start of one that never ends.
        conn.sock.sendall((request.format(COMMAND) + "GET /api/command HTTP/1.1\r\nHost: x\r\n").encode())
        assert conn.answer(COMMAND)[0] == 200
        conn.sock.settimeout(15)
        assert conn.closed_by_server(), "the unfinished request was cut off at its header time"
    finally:
        conn.close()
        running.stop()
