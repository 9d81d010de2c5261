"""POST /oauth2/token: client credentials as the appliance takes them, the token cap and revocation."""

from __future__ import annotations

import base64

import pytest


def token_request(client, creds=None, **kwargs):
    if creds is not None and "auth" not in kwargs and "data" not in kwargs and "json" not in kwargs:
        kwargs["auth"] = (creds.account.client_id, creds.client_secret)
        kwargs["data"] = {"grant_type": "client_credentials"}
    return client.post("/oauth2/token", **kwargs)


def assert_json_error(response, status: int, code: str):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_basic_header_gives_a_one_hour_bearer_token(client, make_account):
    response = token_request(client, make_account())
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert len(body["access_token"]) == 40 and body["access_token"].isalnum()
    assert response.headers["Cache-Control"] == "no-store"


def test_manual_basic_header_as_curl_sends_it(client, make_account):
    creds = make_account()
    header = base64.b64encode(f"{creds.account.client_id}:{creds.client_secret}".encode()).decode()
    response = client.post(
        "/oauth2/token",
        data="grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Basic {header}"},
    )
    assert response.status_code == 200


def test_form_fields(client, make_account):
    creds = make_account()
    response = client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds.account.client_id,
            "client_secret": creds.client_secret,
        },
    )
    assert response.status_code == 200


def test_json_body_with_basic_header(client, make_account):
    creds = make_account()
    response = client.post(
        "/oauth2/token",
        json={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    )
    assert response.status_code == 200


def test_json_body_with_credentials_inside(client, make_account):
    creds = make_account()
    response = client.post(
        "/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds.account.client_id,
            "client_secret": creds.client_secret,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize("body", ["{bad json", "[1, 2]", '"client_credentials"', "null"])
def test_malformed_or_non_object_json_is_invalid_request(client, make_account, body):
    creds = make_account()
    response = client.post(
        "/oauth2/token",
        data=body,
        content_type="application/json",
        auth=(creds.account.client_id, creds.client_secret),
    )
    assert_json_error(response, 400, "invalid_request")


def test_wrong_secret_unknown_client_and_no_credentials_are_401(client, make_account):
    creds = make_account()
    assert_json_error(
        client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret + "x"),
        ),
        401,
        "invalid_client",
    )
    assert_json_error(
        client.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, auth=("0" * 40, creds.client_secret)
        ),
        401,
        "invalid_client",
    )
    assert_json_error(
        client.post("/oauth2/token", data={"grant_type": "client_credentials"}), 401, "invalid_client"
    )


def test_token_errors_do_not_tell_which_client_ids_exist(client, make_account):
    creds = make_account()
    wrong_secret = [
        client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, "x" * 40),
        ),
        client.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.account.client_id,
                "client_secret": "x",
            },
        ),
    ]
    unknown_id = [
        client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("0" * 40, "x" * 40)),
        client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "0" * 40, "client_secret": "x"},
        ),
    ]
    bodies = {r.data for r in wrong_secret + unknown_id}
    assert len(bodies) == 1, bodies
    assert_json_error(wrong_secret[0], 401, "invalid_client")


@pytest.mark.parametrize("token", ["//46AA==", "not base64!", "gA==", "w6k6w6k=" + "=" * 3])
def test_basic_credentials_that_are_not_base64_utf8_are_401(client, token):
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {token}"},
    )
    assert_json_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    "grant, code",
    [
        (None, "unsupported_grant_type"),
        ("password", "unsupported_grant_type"),
        ("authorization_code", "unsupported_grant_type"),
    ],
)
def test_bad_grants_are_400(client, make_account, grant, code):
    creds = make_account()
    data = {} if grant is None else {"grant_type": grant}
    assert_json_error(
        client.post("/oauth2/token", data=data, auth=(creds.account.client_id, creds.client_secret)),
        400,
        code,
    )


def test_get_is_405_json(client):
    response = client.get("/oauth2/token")
    assert_json_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_413_json(client, make_account):
    creds = make_account()
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "pad": "x" * (2 << 20)},
        auth=(creds.account.client_id, creds.client_secret),
    )
    assert_json_error(response, 413, "request_too_large")


def test_thirty_first_token_evicts_the_oldest(client, make_account, command, svc):
    creds = make_account()
    tokens = [token_request(client, creds).get_json()["access_token"] for _ in range(31)]
    assert svc.accounts.valid_token_count(creds.account.client_id) == 30
    first = command("get_api_info", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert first.status_code == 401
    for token in (tokens[1], tokens[30]):
        assert command("get_api_info", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_cap_is_per_account(client, make_account, command):
    a, b = make_account(), make_account()
    token_a = token_request(client, a).get_json()["access_token"]
    for _ in range(30):
        token_request(client, b)
    assert command("get_api_info", headers={"Authorization": f"Bearer {token_a}"}).status_code == 200


def test_regenerating_the_secret_revokes_every_token(client, make_account, command, svc):
    creds = make_account()
    tokens = [token_request(client, creds).get_json()["access_token"] for _ in range(3)]
    new = svc.accounts.regenerate_secret(creds.account.name)
    for token in tokens:
        assert command("get_api_info", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert_json_error(token_request(client, creds), 401, "invalid_client")
    assert token_request(client, new).status_code == 200


@pytest.mark.parametrize("change", ["regenerate", "disable"])
def test_a_token_being_issued_when_the_credentials_change_is_refused(
    client, make_account, command, svc, change
):
    """The token endpoint authenticates, then stores the token: a regeneration or a disabling that commits in
    between revokes every token of the account, so the one being issued must not be stored either."""
    from authlib.oauth2.rfc6749 import InvalidClientError

    creds = make_account()
    authenticated = svc.accounts.lookup_client(creds.account.client_id)  # the account as the endpoint saw it
    if change == "regenerate":
        svc.accounts.regenerate_secret(creds.account.name)
    else:
        svc.accounts.set_enabled(creds.account.client_id, False)
    with pytest.raises(InvalidClientError):
        svc.accounts.save_token(authenticated, "token-issued-too-late")
    assert svc.accounts.find_token("token-issued-too-late") is None
    assert (
        command("get_api_info", headers={"Authorization": "Bearer token-issued-too-late"}).status_code == 401
    )


def test_disabling_revokes_and_blocks_new_tokens(client, make_account, command, svc):
    creds = make_account()
    token = token_request(client, creds).get_json()["access_token"]
    svc.accounts.set_enabled(creds.account.client_id, False)
    assert command("get_api_info", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert_json_error(token_request(client, creds), 401, "invalid_client")
    svc.accounts.set_enabled(creds.account.client_id, True)
    assert command("get_api_info", headers={"Authorization": f"Bearer {token}"}).status_code == 401, (
        "stays revoked"
    )
    assert token_request(client, creds).status_code == 200


def test_secrets_and_tokens_are_stored_only_as_hashes(client, make_account, stored_text):
    creds = make_account()
    token = token_request(client, creds).get_json()["access_token"]
    dump = stored_text()
    assert creds.client_secret not in dump
    assert token not in dump
    assert creds.account.client_id in dump
