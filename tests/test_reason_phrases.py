"""Status lines read as common servers write them ("401 Unauthorized"), on every face, never werkzeug's
upper case ("401 UNAUTHORIZED"), which clients quote in their error messages."""

from __future__ import annotations

import pytest

from gateway.status import reason, status_line


@pytest.mark.parametrize(
    "method, path, kwargs, expected",
    [
        ("get", "/api/command", {"query_string": {"action": "get_api_info"}}, "401 Unauthorized"),
        ("get", "/api/command.ns", {"query_string": {"action": "get_api_info"}}, "401 Unauthorized"),
        ("delete", "/api/command", {}, "405 Method Not Allowed"),
        ("get", "/api/v1/clients", {}, "401 Unauthorized"),
        ("get", "/api/v1/no-such-thing", {}, "404 Not Found"),
        ("post", "/oauth2/token", {"data": {"grant_type": "client_credentials"}}, "401 Unauthorized"),
        ("get", "/nowhere", {}, "404 Not Found"),
        ("get", "/check_health", {}, "200 OK"),
        ("get", "/api/command.xsd", {}, "200 OK"),
    ],
)
def test_every_face_writes_the_common_reason_phrase(client, method, path, kwargs, expected):
    assert getattr(client, method)(path, **kwargs).status == expected


def test_a_too_large_body(client, auth):
    big = client.post("/api/command", data=b"x" * (2 << 20), headers={**auth, "Content-Type": "text/plain"})
    assert big.status == "413 Request Entity Too Large"


def test_phrases_do_not_depend_on_the_python_version():
    assert [status_line(code) for code in (413, 414, 422, 429)] == [
        "413 Request Entity Too Large",
        "414 Request-URI Too Long",
        "422 Unprocessable Entity",
        "429 Too Many Requests",
    ]
    assert reason(599) == "Unknown Status"
