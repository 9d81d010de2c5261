"""Rate limits per API account: off by default; 429 with Retry-After and X-RateLimit-* when on."""

from __future__ import annotations

import pytest

from gateway import create_app
from tests.conftest import ValidatingClient

T0 = 1_800_000_000  # a frozen, whole-second, hour-aligned gateway time: windows are exact


@pytest.fixture
def limited(app_config, request):
    """An app with rate limits on (settings from the test's parameters) and its clock frozen at T0."""
    app = create_app({**app_config, "RATE_LIMIT": True, **getattr(request, "param", {})})
    app.test_client_class = ValidatingClient
    svc = app.extensions["gateway"]
    svc.controls.clock_control.set(T0, frozen=True)
    yield app
    svc.store.close()


def bearer(app, name: str = "reader", **options) -> dict:
    svc = app.extensions["gateway"]
    creds = svc.accounts.create(name, options.pop("permission", "read_only"), **options)
    token = (
        app.test_client()
        .post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
        )
        .get_json()["access_token"]
    )
    return {"Authorization": f"Bearer {token}"}


def test_off_by_default(command):
    response = command("get_api_info")
    assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize("limited", [{"RATE_LIMIT_PER_SECOND": 3}], indirect=True)
def test_per_second_limit_per_account(limited, namespace):
    client = limited.test_client()
    reader, other = bearer(limited), bearer(limited, "other")
    responses = [client.get("/api/command?action=get_connected_clients", headers=reader) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {"3"}
    assert {r.headers["X-RateLimit-Reset"] for r in responses} == {str(T0 + 1)}
    refused = responses[3]
    assert refused.headers["Retry-After"] == "1" and "Retry-After" not in responses[0].headers
    assert refused.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<error xmlns=')
    assert b"at most 3 requests per second" in refused.data
    assert client.get("/api/command?action=get_api_info", headers=other).status_code == 200, (
        "each account counts alone"
    )
    limited.extensions["gateway"].controls.clock_control.advance(1)
    assert client.get("/api/command?action=get_api_info", headers=reader).status_code == 200, "a new second"


@pytest.mark.parametrize("limited", [{"RATE_LIMIT_PER_SECOND": 100, "RATE_LIMIT_PER_HOUR": 4}], indirect=True)
def test_per_hour_limit_and_its_retry_after(limited):
    client = limited.test_client()
    reader = bearer(limited)
    controls = limited.extensions["gateway"].controls
    for _ in range(4):
        assert client.get("/api/command?action=get_api_info", headers=reader).status_code == 200
        controls.clock_control.advance(10)
    refused = client.get("/api/command?action=get_api_info", headers=reader)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(3600 - 40) and refused.headers["X-RateLimit-Limit"] == "4"
    assert refused.headers["X-RateLimit-Reset"] == str(T0 + 3600)


@pytest.mark.parametrize("limited", [{"RATE_LIMIT_PER_SECOND": 1}], indirect=True)
def test_json_face_is_limited_but_token_endpoint_and_admin_are_not(limited):
    client = limited.test_client()
    admin = bearer(limited, "admin", admin=True)
    for _ in range(3):
        assert client.get("/api/v1/admin/ratelimit", headers=admin).status_code == 200
    reader = bearer(limited)
    assert client.get("/api/command?action=get_api_info", headers=reader).status_code == 200
    refused = client.get("/api/v1/admin/ratelimit", headers=reader)
    assert refused.status_code == 403, "the admin surface checks permission, not rate"
    assert bearer(limited, "again")  # the token endpoint answers whatever the rate


def test_operators_switch_limits_at_runtime_for_every_worker(
    client, admin_auth, command, app_config, make_account, get_token
):
    other = create_app(app_config)  # a second worker on the same database
    other.test_client_class = ValidatingClient
    headers = {"Authorization": f"Bearer {get_token(make_account())}"}
    on = client.put("/api/v1/admin/ratelimit", json={"enabled": True, "per_second": 1}, headers=admin_auth)
    assert on.get_json() == {"enabled": True, "per_second": 1, "per_hour": 15000}
    first = other.test_client().get("/api/command?action=get_api_info", headers=headers)
    assert first.status_code == 200 and first.headers["X-RateLimit-Limit"] == "1"
    statuses = [command("get_api_info", headers=headers).status_code for _ in range(3)]
    assert 429 in statuses, "a frozen or fast clock: at most one request per second"
    off = client.delete("/api/v1/admin/ratelimit", headers=admin_auth).get_json()
    assert off["enabled"] is False and command("get_api_info", headers=headers).status_code == 200
    bad = client.put("/api/v1/admin/ratelimit", json={"per_second": 0}, headers=admin_auth)
    assert bad.status_code == 400 and bad.get_json()["details"]["field"] == "per_second"
    other.extensions["gateway"].store.close()
