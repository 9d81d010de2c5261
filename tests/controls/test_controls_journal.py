"""The request journal: what an integration asked for, queryable, resettable, bounded, without secrets."""

from __future__ import annotations

import pytest

from gateway import create_app
from tests.conftest import ValidatingClient


@pytest.fixture
def journal(client, admin_auth):
    def query(**params) -> dict:
        response = client.get("/api/v1/admin/journal", query_string=params, headers=admin_auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return query


def test_every_api_call_is_recorded_with_its_account_and_parameters(client, journal, make_account, get_token):
    creds = make_account()
    token = get_token(creds)
    response = client.post(
        "/api/command",
        data={"action": "get_connected_clients", "type": "representative"},
        query_string={"include_connections": "1"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "my-trace-42"},
    )
    assert response.headers["X-Request-ID"] == "my-trace-42"
    client.get("/api/command?action=nonsense", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/command?action=get_api_info", headers={"Authorization": "Bearer junk"})
    client.get("/api/v1/no-such-thing?limit=3")
    page = journal()
    entries = page["entries"][1:]  # the first is the admin_auth fixture's token request
    assert page["enabled"] is True and page["next_after"] is None
    assert [(e["face"], e["action"], e["status"]) for e in entries] == [
        ("oauth", "token", 200),
        ("command", "get_connected_clients", 200),
        ("command", "nonsense", 200),
        ("command", "get_api_info", 401),
        ("json", None, 404),
    ]
    token_entry, command_entry = entries[0], entries[1]
    assert token_entry["account"] == creds.account.client_id and token_entry["params"] == {
        "grant_type": "client_credentials"
    }
    assert command_entry["account"] == creds.account.client_id and entries[3]["account"] is None
    assert command_entry["params"] == {
        "action": "get_connected_clients",
        "type": "representative",
        "include_connections": "1",
    }
    assert command_entry["request_id"] == "my-trace-42" and command_entry["method"] == "POST"
    assert command_entry["path"] == "/api/command" and command_entry["duration_ms"] > 0
    assert command_entry["time"].endswith("+00:00") and entries[4]["params"] == {"limit": "3"}
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


def test_admin_calls_are_not_journaled(client, journal, admin_auth):
    client.get("/api/v1/admin/faults", headers=admin_auth)
    journal()
    assert [e["face"] for e in journal()["entries"]] == ["oauth"], "only the admin's token request"


def test_secrets_never_reach_the_journal(app, client, journal, make_account, get_token, stored_text):
    legacy = make_account(legacy_login=True, name="legacy")
    client.get(
        "/api/command",
        query_string={"action": "get_api_info", "username": "legacy", "password": legacy.client_secret},
    )
    form = make_account(name="form")
    client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": form.account.client_id,
            "client_secret": form.client_secret,
        },
    )
    client.post(
        "/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": form.account.client_id,
            "client_secret": form.client_secret,
        },
    )
    token = get_token(form)
    client.get("/api/command", query_string={"action": "get_api_info", "access_token": token})
    entries = journal()["entries"]  # [0]: the admin's token request
    assert (
        entries[1]["params"]["password"] == "[redacted]" and entries[1]["account"] == legacy.account.client_id
    )
    assert (
        entries[2]["params"]["client_secret"] == "[redacted]"
        and entries[2]["account"] == form.account.client_id
    )
    assert entries[3]["params"]["client_secret"] == "[redacted]"
    stored = stored_text()
    for secret in (legacy.client_secret, form.client_secret, token):
        assert secret not in stored


def test_filters_and_pages(client, journal, make_account, get_token, command):
    a, b = make_account(name="a"), make_account(name="b")
    for creds, count in ((a, 3), (b, 2)):
        headers = {"Authorization": f"Bearer {get_token(creds)}"}
        for _ in range(count):
            command("get_api_info", headers=headers)
    command("check_health")
    assert len(journal(account=a.account.client_id)["entries"]) == 4
    assert len(journal(action="get_api_info")["entries"]) == 5
    assert [e["action"] for e in journal(face="command", action="check_health")["entries"]] == [
        "check_health"
    ]
    assert journal(status=401)["entries"] == []
    pages, after = [], 0
    while after is not None:
        page = journal(limit=4, after=after)
        pages.append(page["entries"])
        after = page["next_after"]
    assert [len(p) for p in pages] == [4, 4, 2]
    assert [e for p in pages for e in p] == journal(limit=1000)["entries"]
    latest = journal()["entries"][-1]
    assert [e["seq"] for e in journal(since=latest["time"])["entries"]][-1] == latest["seq"]
    assert journal(since=latest["ts"] + 3600)["entries"] == []


def test_reset_empties_it(client, journal, admin_auth, command):
    command("get_api_info")
    removed = client.delete("/api/v1/admin/journal", headers=admin_auth).get_json()["removed"]
    assert removed >= 2 and journal()["entries"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"face": "admin"}, "face"),
        ({"since": "last week"}, "since"),
        ({"status": 42}, "status"),
        ({"after": -1}, "after"),
        ({"colour": "red"}, "colour"),
        ({"action": "a\x00"}, "action"),
        ({"account": "\x00"}, "account"),
    ],
)
def test_bad_queries_name_the_field(client, admin_auth, params, field):
    response = client.get("/api/v1/admin/journal", query_string=params, headers=admin_auth)
    assert response.status_code == 400 and response.get_json()["details"]["field"] == field


def test_it_can_be_off_and_is_bounded(app_config, make_account):
    for config, expected in (({"JOURNAL": "false"}, 0), ({"JOURNAL_MAX_ENTRIES": 3}, 3)):
        app = create_app({**app_config, **config})
        app.test_client_class = ValidatingClient
        client = app.test_client()
        creds = app.extensions["gateway"].accounts.create(f"admin-{expected}", "deny", admin=True)
        token = client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
        ).get_json()["access_token"]
        for _ in range(5):
            client.get("/api/command?action=get_api_info")
        page = client.get("/api/v1/admin/journal", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert len(page["entries"]) == expected and page["enabled"] is (expected > 0)
        if expected:
            assert [e["status"] for e in page["entries"]] == [401, 401, 401], "the newest entries are kept"
        app.extensions["gateway"].store.close()


def test_an_entry_keeps_a_bounded_amount_of_parameter_text(client, journal, make_account, get_token):
    """Fifty keys of twenty 999-character values wrote about 1 MB per request into the journal, with no
    account at all (issue 15): an entry keeps at most 8 KB of parameters, 1 KB for a call no account made."""
    import json
    from urllib.parse import urlencode

    from gateway.controls.journal import LEFT_OUT, PARAMS_TEXT, PARAMS_TEXT_ANONYMOUS

    pairs = [(f"k{k}", "v" * 999) for k in range(40) for _ in range(20)]
    form = "application/x-www-form-urlencoded"
    anonymous = client.post("/api/command", data=urlencode(pairs), content_type=form)
    token = get_token(make_account())
    signed = client.post(
        "/api/command",
        data=urlencode([("action", "get_api_info"), *pairs]),
        content_type=form,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert anonymous.status_code == 401 and signed.status_code == 200
    entries = journal()["entries"]
    by_account = {e["account"] is None: e for e in entries if e["face"] == "command"}
    for anonymous_entry, budget in ((True, PARAMS_TEXT_ANONYMOUS), (False, PARAMS_TEXT)):
        params = by_account[anonymous_entry]["params"]
        assert LEFT_OUT in params
        assert len(json.dumps(params)) < budget + 2048
    assert by_account[False]["params"]["action"] == "get_api_info"
