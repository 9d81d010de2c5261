"""Verifying with the journal: counts and waits in the admin API, request headers (secrets redacted) and
the text of the errors answers carried, all filterable."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture
def admin_get(client, admin_auth):
    def get(path: str, expect: int = 200, **params) -> dict:
        response = client.get(f"/api/v1/admin{path}", query_string=params, headers=admin_auth)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    return get


def test_count_matches_the_filters(command, admin_get):
    for _ in range(3):
        command("get_api_info")
    command("nonsense")
    assert admin_get("/journal/count", action="get_api_info")["count"] == 3
    assert admin_get("/journal/count", face="command")["count"] == 4
    assert admin_get("/journal/count", has_error=True)["count"] == 1
    assert admin_get("/journal/count", face="command", has_error=False)["count"] == 3
    assert admin_get("/journal/count", action="get_api_info", method="POST")["count"] == 0
    first = admin_get("/journal", face="command")["entries"][0]
    assert admin_get("/journal/count", face="command", after=first["seq"])["count"] == 3
    assert admin_get("/journal/count", request_id=first["request_id"])["count"] == 1


def test_an_answer_carrying_an_error_keeps_its_text(command, admin_get, client):
    """An unknown action and a bad parameter answer 200 with an <error>, as an appliance does: the journal
    says so, and the text is a filter (a substring, % and _ taken as themselves)."""
    assert command("nonsense").status_code == 200
    bad = command("get_connected_clients", type="robot")
    assert bad.status_code == 200 and b"<error" in bad.data
    client.get("/api/command?action=get_api_info", headers={"Authorization": "Bearer junk"})
    ok = command("get_api_info")
    assert ok.status_code == 200
    entries = admin_get("/journal", face="command")["entries"]
    by_action = {(e["action"], e["status"]): e for e in entries}
    assert "nonsense" in by_action[("nonsense", 200)]["error"]
    assert by_action[("get_connected_clients", 200)]["error"]
    assert by_action[("get_api_info", 401)]["error"]
    assert by_action[("get_api_info", 200)]["error"] is None
    client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("nobody", "nothing"))
    [refused] = admin_get("/journal", face="oauth", status=401)["entries"]
    assert refused["error"], "the token endpoint's refusal says why"
    unknown = by_action[("nonsense", 200)]["error"]
    assert [e["action"] for e in admin_get("/journal", error=unknown[3:20])["entries"]] == ["nonsense"]
    assert admin_get("/journal/count", error="%")["count"] == 0


def test_request_headers_are_kept_without_secrets(client, admin_get, make_account, get_token, stored_text):
    token = get_token(make_account())
    client.set_cookie("session", "c00kie-value")
    client.get(
        "/api/command?action=get_api_info",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Api-Key": "key-value-123",
            "X-Custom-Token": "tok-value-456",
            "User-Agent": "integration/1.2",
            "X-Trace": "abc",
        },
    )
    entry = admin_get("/journal", face="command")["entries"][-1]
    headers = entry["headers"]
    assert headers["User-Agent"] == "integration/1.2" and headers["X-Trace"] == "abc"
    for name in ("Authorization", "Cookie", "X-Api-Key", "X-Custom-Token"):
        assert headers[name] == "[redacted]", name
    stored = stored_text()
    for secret in (token, "c00kie-value", "key-value-123", "tok-value-456"):
        assert secret not in stored


def test_a_wait_answers_once_the_entries_are_there(app, command, admin_auth):
    """The wait runs on its own client; the calls it waits for are made once it has started."""
    waiter = app.test_client()
    answers: list = []
    started = threading.Event()

    def wait():
        started.set()
        answers.append(
            waiter.get(
                "/api/v1/admin/journal/wait",
                query_string={"count": 2, "action": "get_api_info", "timeout": 50},
                headers=admin_auth,
            )
        )

    thread = threading.Thread(target=wait)
    thread.start()
    started.wait()
    command("get_api_info")
    command("get_api_info")
    thread.join(60)
    assert not thread.is_alive()
    body = answers[0].get_json()
    assert answers[0].status_code == 200, body
    assert body["satisfied"] is True and body["count"] >= 2 and body["expected"] == 2
    assert body["waited"] < 50


def test_a_wait_that_is_already_satisfied_or_times_out(command, admin_get):
    command("get_api_info")
    assert admin_get("/journal/wait", count=1, action="get_api_info", timeout=30)["satisfied"] is True
    timed_out = admin_get("/journal/wait", count=5, action="get_api_info", timeout=0.05)
    assert timed_out == {
        "enabled": True,
        "satisfied": False,
        "count": 1,
        "expected": 5,
        "waited": timed_out["waited"],
    }


@pytest.mark.parametrize(
    "path, params, field",
    [
        ("/journal/wait", {"count": 1, "timeout": 61}, "timeout"),
        ("/journal/wait", {"count": -1}, "count"),
        ("/journal/wait", {"timeout": 1}, "count"),
        ("/journal/wait", {"count": 1, "timeout": "soon"}, "timeout"),
        ("/journal/count", {"has_error": "maybe"}, "has_error"),
        ("/journal/count", {"method": "BREW"}, "method"),
        ("/journal/count", {"error": "a\x00"}, "error"),
        ("/journal/count", {"limit": 3}, "limit"),
        ("/journal", {"tail": "x"}, "tail"),
    ],
)
def test_bad_verification_queries_name_the_field(admin_get, path, params, field):
    assert admin_get(path, expect=400, **params)["details"]["field"] == field


def test_show_the_tail_and_say_more_exist(command, admin_get):
    for _ in range(5):
        command("get_api_info")
    page = admin_get("/journal", face="command", limit=2)
    assert page["total"] == 5 and page["next_after"] == page["entries"][-1]["seq"]
    tail = admin_get("/journal", face="command", limit=2, tail="true")
    everything = admin_get("/journal", face="command")
    assert tail["entries"] == everything["entries"][-2:] and tail["total"] == 5
    assert everything["next_after"] is None and everything["total"] == 5


def test_the_openapi_document_declares_them(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    wait = paths["/api/v1/admin/journal/wait"]["get"]
    names = {p["name"] for p in wait["parameters"]}
    assert {"count", "timeout", "action", "error", "has_error"} <= names
    assert "/api/v1/admin/journal/count" in paths
    answer = wait["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/Wait")


def test_header_text_is_bounded_most_for_calls_no_account_made(client, admin_get, make_account, get_token):
    import json

    from gateway.controls.journal import HEADERS_TEXT, LEFT_OUT, PARAMS_TEXT_ANONYMOUS

    many = {f"X-Filler-{n}": "v" * 900 for n in range(60)}
    client.get("/api/command?action=get_api_info", headers=many)
    token = get_token(make_account())
    client.get("/api/command?action=get_api_info", headers={**many, "Authorization": f"Bearer {token}"})
    anonymous, signed = admin_get("/journal", face="command")["entries"]
    for entry, budget in ((anonymous, PARAMS_TEXT_ANONYMOUS), (signed, HEADERS_TEXT)):
        assert LEFT_OUT in entry["headers"] and len(json.dumps(entry["headers"])) < budget + 2048


@given(
    headers=st.lists(
        st.tuples(
            st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1),
            st.text(max_size=2000),
        ),
        max_size=80,
    )
)
@settings(max_examples=200, deadline=None)
def test_redacted_headers_keep_no_secret_like_value_and_stay_bounded(headers):
    import json

    from gateway.controls.journal import HEADERS_TEXT, LEFT_OUT, REDACTED, redact_headers, secret_header

    kept = redact_headers(headers)
    assert len(json.dumps(kept)) < HEADERS_TEXT * 2 + 4096
    for name, value in kept.items():
        if name != LEFT_OUT and secret_header(name):
            assert value == REDACTED or value == [REDACTED] * len(value)
    for word in ("Authorization", "X-Session", "x-api-key", "My-Token"):
        assert secret_header(word)
