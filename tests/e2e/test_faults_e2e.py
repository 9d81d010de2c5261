"""The connection-level faults on real gunicorn workers, as a client's socket meets them: a reset
connection, a body dribbled in pieces, malformed bodies; each under the usual every/times/probability/seed
controls, counted across workers."""

from __future__ import annotations

import random
import re
import socket
from urllib.parse import urlsplit

import pytest
from lxml import etree

from gateway.admin_client import AdminClient, Credentials
from tests.conftest import assert_wire_body
from tests.server import prepare, start

pytestmark = pytest.mark.e2e
NAMESPACE = "https://www.beyondtrust.com/namespaces/API/command"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("faults")
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    admin = prepare(url, "admin", "read_only", admin=True)
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=2)
    try:
        client = AdminClient(server.url, Credentials("admin", admin.account.client_id, admin.client_secret))
        client.server = server
        client.reader = client.token(client.admin)
        yield client
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def clean(gateway):
    gateway.admin_call("POST", "/controls/reset")
    yield
    log = gateway.server.log.read_text()
    assert "Traceback" not in log and "Error handling request" not in log


def exchange(base: str, path: str, bearer: str) -> tuple[bytes, list[bytes], BaseException | None]:
    """(everything received, the pieces recv() gave, the error that ended the exchange if any)."""
    parts = urlsplit(base)
    pieces: list[bytes] = []
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {bearer}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        try:
            while chunk := sock.recv(65536):
                pieces.append(chunk)
        except OSError as error:
            return b"".join(pieces), pieces, error
    return b"".join(pieces), pieces, None


def split(received: bytes) -> tuple[bytes, bytes, int | None]:
    """(head, body, declared Content-Length or None); HTTP/1.0, so the body is never chunked."""
    head, _, body = received.partition(b"\r\n\r\n")
    declared = re.search(rb"(?i)content-length: (\d+)", head)
    return head, body, int(declared[1]) if declared else None


def test_reset_connections_every_second_call(gateway):
    gateway.admin_call("POST", "/faults", {"match": {"action": "get_api_info"}, "reset": True, "every": 2})
    outcomes = []
    for _ in range(4):
        received, _, error = exchange(gateway.url, "/api/command?action=get_api_info", gateway.reader)
        outcomes.append(
            "reset" if isinstance(error, ConnectionResetError) and received == b"" else received[:12]
        )
    assert outcomes == [b"HTTP/1.0 200", "reset", b"HTTP/1.0 200", "reset"]
    [rule] = gateway.admin_call("GET", "/faults")["faults"]
    assert rule["matched"] == 4 and rule["fired"] == 2
    entries = gateway.verify(4, action="get_api_info")
    assert [e["fault"] for e in entries] == [None, "reset", None, "reset"]
    assert [e["status"] for e in entries] == [200, None, 200, None]


def test_a_dribbled_body_arrives_whole_in_pieces(gateway):
    path = "/api/command?action=get_connected_clients&include_connections=1"
    normal, _, _ = exchange(gateway.url, path, gateway.reader)
    _, expected, _ = split(normal)
    # pieces of a tenth of the rate: at 4 KB/s a body of a few KB comes in tens of pieces
    gateway.admin_call(
        "POST",
        "/faults",
        {"match": {"action": "get_connected_clients"}, "dribble": {"bytes_per_second": 20000}, "times": 1},
    )
    received, pieces, error = exchange(gateway.url, path, gateway.reader)
    head, body, declared = split(received)
    assert error is None and head.startswith(b"HTTP/1.0 200") and body == expected and declared == len(body)
    assert len(pieces) >= 3, "the body came in pieces"
    assert_wire_body(200, "text/xml", body, NAMESPACE)
    again, _, _ = exchange(gateway.url, path, gateway.reader)
    assert split(again)[1] == expected, "times=1: spent"
    assert [e["fault"] for e in gateway.verify(3, action="get_connected_clients")] == [None, "dribble", None]


@pytest.mark.parametrize("kind", ["cut", "garbage", "empty"])
def test_malformed_bodies(gateway, kind):
    gateway.admin_call("POST", "/faults", {"match": {"action": "get_api_info"}, "malformed": {"body": kind}})
    received, _, error = exchange(gateway.url, "/api/command?action=get_api_info", gateway.reader)
    head, body, declared = split(received)
    assert error is None and head.startswith(b"HTTP/1.0 200") and declared == len(body)
    assert b"text/xml" in head, "the content type still claims XML"
    if kind == "empty":
        assert body == b""
    else:
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(body)
    [entry] = gateway.verify(1, action="get_api_info")
    assert entry["fault"] == "malformed"


def test_seeded_probability_decides_the_same_way_on_every_worker(gateway):
    seed, probability = 11, 0.5
    gateway.admin_call(
        "POST",
        "/faults",
        {
            "match": {"action": "get_api_info"},
            "malformed": {"body": "garbage"},
            "probability": probability,
            "seed": seed,
        },
    )
    got = []
    for _ in range(8):
        received, _, _ = exchange(gateway.url, "/api/command?action=get_api_info", gateway.reader)
        got.append(split(received)[1].startswith(b"Service temporarily unavailable"))
    expected = [random.Random(f"{seed}:{n}:fire").random() < probability for n in range(1, 9)]
    assert got == expected and any(expected) and not all(expected)
