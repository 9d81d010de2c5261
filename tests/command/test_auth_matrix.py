"""Who may call the command API: every way a bearer token or account can be wrong."""

from __future__ import annotations

import pytest

from tests.xmlutil import local, parse


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_xml_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.content_type == "text/xml; charset=UTF-8"
    root = parse(response.data)
    assert local(root) == "error"
    return root.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer junk"},
        {"Authorization": "Bearer " + "A" * 40},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer a b c"},
        {"Authorization": "Bearer \u00e9\u00e9"},
    ],
)
def test_missing_or_junk_credentials_are_401_xml(command, headers):
    response = command("get_connected_clients", headers=headers)
    message = assert_xml_error(response, 401)
    assert "token" in message.lower()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401_then_a_new_one_works(command, make_account, get_token, svc):
    creds = make_account()
    token = get_token(creds)
    svc.clock.offset = 3599
    assert command("get_api_info", headers=bearer(token)).status_code == 200
    svc.clock.offset = 3600
    assert "expired" in assert_xml_error(command("get_api_info", headers=bearer(token)), 401)
    assert command("get_api_info", headers=bearer(get_token(creds))).status_code == 200


def test_revoked_token_says_revoked(command, make_account, get_token, svc):
    creds = make_account()
    token = get_token(creds)
    svc.accounts.regenerate_secret(creds.account.name)
    assert "revoked" in assert_xml_error(command("get_api_info", headers=bearer(token)), 401)


def test_disabled_account(command, make_account, get_token, svc):
    creds = make_account()
    token = get_token(creds)
    svc.accounts.set_enabled(creds.account.name, False)
    assert_xml_error(command("get_api_info", headers=bearer(token)), 401)


@pytest.mark.parametrize(
    "action",
    [
        "get_connected_clients",
        "get_connected_client_list",
        "get_api_info",
        "check_health",
        "get_logged_in_reps",
        "get_appliances",
    ],
)
def test_deny_account_gets_403_on_every_action(command, make_account, get_token, action):
    token = get_token(make_account("deny"))
    message = assert_xml_error(command(action, headers=bearer(token)), 403)
    assert "deny" in message


@pytest.mark.parametrize("permission", ["read_only", "full_access"])
def test_read_only_and_full_access_may_read(command, make_account, get_token, permission):
    token = get_token(make_account(permission))
    response = command("get_api_info", headers=bearer(token))
    assert response.status_code == 200
    permissions = [(p.get("perm_name"), p.get("value")) for p in parse(response.data).iter("{*}permission")]
    # the vendor's list, in its order; the gateway serves the command API only, so every other one is 0
    assert permissions == [
        ("perm_backup", "0"),
        ("perm_command", permission),
        ("perm_configuration", "0"),
        ("perm_configuration_vault_account", "0"),
        ("perm_ecm", "0"),
        ("perm_real_time_state", "0"),
        ("perm_reporting_archive", "0"),
        ("perm_reporting_license", "0"),
        ("perm_reporting_presentation", "0"),
        ("perm_reporting_support", "0"),
    ]


def test_the_gateways_own_permissions_are_not_listed(command, make_account, get_token):
    """Feed and admin are the gateway's permissions, not the vendor's: get_api_info does not show them."""
    token = get_token(make_account("full_access", feed=True, admin=True))
    body = command("get_api_info", headers=bearer(token)).data
    assert b"perm_feed" not in body and b"perm_admin" not in body


def test_permission_change_applies_to_live_tokens(command, make_account, get_token, svc):
    creds = make_account("read_only")
    token = get_token(creds)
    svc.accounts.set_permissions(creds.account.name, command="deny")
    assert_xml_error(command("get_api_info", headers=bearer(token)), 403)


def test_auth_comes_before_action_checks(command):
    assert_xml_error(command("no_such_action", headers={}), 401)


def test_legacy_login_is_off_by_default(command, make_account):
    creds = make_account()
    response = command("get_api_info", headers={}, username=creds.account.name, password=creds.client_secret)
    assert "legacy" in assert_xml_error(response, 401).lower()


def test_legacy_login_when_the_account_allows_it(command, make_account):
    creds = make_account(legacy_login=True)
    ok = command("get_api_info", headers={}, username=creds.account.name, password=creds.client_secret)
    assert ok.status_code == 200
    assert (
        command(
            "get_api_info",
            method="POST",
            headers={},
            username=creds.account.name,
            password=creds.client_secret,
        ).status_code
        == 200
    )
    wrong = command("get_api_info", headers={}, username=creds.account.name, password="nope")
    assert_xml_error(wrong, 401)
    unknown = command("get_api_info", headers={}, username="nobody", password=creds.client_secret)
    assert_xml_error(unknown, 401)
