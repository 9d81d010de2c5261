"""The controllable clock: shared by every worker through the store; tokens and timestamps follow it."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway import create_app
from tests.conftest import ValidatingClient


@pytest.fixture
def timestamp(command, make_account, get_token):
    """get_api_info's timestamp, with a token issued at the gateway's current time."""
    creds = make_account()

    def read() -> int:
        response = command("get_api_info", headers={"Authorization": f"Bearer {get_token(creds)}"})
        return int(etree.fromstring(response.data).find("{*}timestamp").text)

    return read


def test_advancing_expires_tokens_and_a_new_token_works(
    client, svc, admin_auth, make_account, get_token, command
):
    svc.controls.clock_control.set(1_800_000_000, frozen=True)  # whole seconds: expiry is exact
    admin_auth = {"Authorization": f"Bearer {get_token(make_account('deny', admin=True))}"}
    creds = make_account()
    headers = {"Authorization": f"Bearer {get_token(creds)}"}
    assert command("get_api_info", headers=headers).status_code == 200
    state = client.post("/api/v1/admin/clock/advance", json={"seconds": 3599}, headers=admin_auth).get_json()
    assert state["now"] == 1_800_003_599 and state["frozen"] is True
    assert command("get_api_info", headers=headers).status_code == 200, "one second left"
    client.post("/api/v1/admin/clock/advance", json={"seconds": 1}, headers=admin_auth)
    expired = command("get_api_info", headers=headers)
    assert expired.status_code == 401 and b"expired" in expired.data
    fresh = {"Authorization": f"Bearer {get_token(creds)}"}
    assert command("get_api_info", headers=fresh).status_code == 200
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    ).get_json()
    assert token["expires_in"] == 3600


@pytest.fixture
def clock_api(client, make_account, get_token):
    """POST/GET an admin clock endpoint with a token issued at the gateway's current time."""
    admin = make_account("deny", admin=True)

    def call(path: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {get_token(admin)}"}
        response = (
            client.get(path, headers=headers)
            if body is None and path.endswith("/clock")
            else client.post(path, json=body, headers=headers)
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return call


def test_freeze_set_unfreeze_and_reset(clock_api, timestamp):
    frozen = clock_api("/api/v1/admin/clock/set", {"time": "2030-01-01T00:00:00Z", "frozen": True})
    assert (
        frozen["frozen"] and frozen["now"] == 1_893_456_000 and frozen["iso"] == "2030-01-01T00:00:00+00:00"
    )
    assert timestamp() == 1_893_456_000 == timestamp(), "frozen time does not move"
    clock_api("/api/v1/admin/clock/advance", {"seconds": 90})
    assert timestamp() == 1_893_456_090
    clock_api("/api/v1/admin/clock/set", {"time": 1_900_000_000})
    assert timestamp() == 1_900_000_000
    running = clock_api("/api/v1/admin/clock/unfreeze")
    assert running["frozen"] is False and 1_900_000_000 <= timestamp() < 1_900_000_060
    clock_api("/api/v1/admin/clock/freeze")
    assert clock_api("/api/v1/admin/clock")["frozen"] is True
    reset = clock_api("/api/v1/admin/clock/reset")
    assert reset["offset"] == 0 and reset["frozen"] is False


def test_every_worker_sees_a_change_on_its_next_request(
    app_config, svc, client, admin_auth, make_account, get_token
):
    """Two apps on one database are two workers: the second follows the first at once."""
    other = create_app(app_config)
    other.test_client_class = ValidatingClient
    worker2 = other.test_client()
    headers = {"Authorization": f"Bearer {get_token(make_account())}"}
    assert worker2.get("/api/command?action=get_api_info", headers=headers).status_code == 200
    client.post("/api/v1/admin/faults", json={"error": {"status": 503}}, headers=admin_auth)
    assert worker2.post("/oauth2/token", data={"grant_type": "client_credentials"}).status_code == 503
    client.delete("/api/v1/admin/faults", headers=admin_auth)
    client.post("/api/v1/admin/clock/advance", json={"seconds": 7200}, headers=admin_auth)
    assert worker2.get("/api/command?action=get_api_info", headers=headers).status_code == 401
    svc.controls.reset()  # as `gateway controls reset` does, from outside any worker
    assert worker2.get("/api/command?action=get_api_info", headers=headers).status_code == 200
    other.extensions["gateway"].store.close()


def test_a_new_app_starts_on_the_shared_time(app_config, svc):
    svc.controls.clock_control.set(2_000_000_000, frozen=True)
    late = create_app(app_config)
    assert late.extensions["gateway"].clock.now() == 2_000_000_000, (
        "CLI commands build an app and read the clock"
    )
    late.extensions["gateway"].store.close()


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/admin/clock/advance", {}, "seconds"),
        ("/api/v1/admin/clock/advance", {"seconds": "soon"}, "seconds"),
        ("/api/v1/admin/clock/advance", {"seconds": 4e9}, "seconds"),
        ("/api/v1/admin/clock/set", {"time": "2030-01-01T00:00:00"}, "time"),
        ("/api/v1/admin/clock/set", {"time": "yesterday"}, "time"),
        ("/api/v1/admin/clock/set", {"time": -5}, "time"),
        ("/api/v1/admin/clock/set", {"time": True}, "time"),
        ("/api/v1/admin/clock/set", {"time": 5, "later": 1}, "later"),
    ],
)
def test_bad_clock_input_is_refused_naming_the_field(client, admin_auth, path, body, field):
    response = client.post(path, json=body, headers=admin_auth)
    assert response.status_code == 400 and response.get_json()["details"]["field"] == field
    assert client.get("/api/v1/admin/clock", headers=admin_auth).get_json()["offset"] == 0


def test_advancing_past_2100_in_steps_is_refused(client, svc, make_account, get_token):
    svc.controls.clock_control.advance(2e9)
    headers = {"Authorization": f"Bearer {get_token(make_account('deny', admin=True))}"}
    response = client.post("/api/v1/admin/clock/advance", json={"seconds": 2e9}, headers=headers)
    assert response.status_code == 400 and response.get_json()["details"]["field"] == "seconds"
    assert client.get("/api/v1/admin/clock", headers=headers).get_json()["offset"] == pytest.approx(
        2e9, abs=5
    )


def test_setting_the_clock_back_does_not_revive_a_token_past_its_real_expiry(
    client, svc, make_account, get_token, command
):
    """A token whose real lifetime is over stays expired whatever time the emulator is set to."""
    import time

    from gateway.oauth.secrets import digest

    creds = make_account()
    now = svc.clock.now_int()
    # issued an hour ago in real time (and by the emulator's clock): its real expiry has passed
    assert svc.accounts.issue_token(
        creds.account.key, digest("tok-real-past"), now - 3600, now, real_expires_at=int(time.time()) - 1
    )
    headers = {"Authorization": "Bearer tok-real-past"}
    assert command("get_api_info", headers=headers).status_code == 401
    admin = {"Authorization": f"Bearer {get_token(make_account('deny', admin=True))}"}
    moved = client.post("/api/v1/admin/clock/advance", json={"seconds": -7200}, headers=admin)
    assert moved.status_code == 200
    expired = command("get_api_info", headers=headers)
    assert expired.status_code == 401 and b"expired" in expired.data, "the clock revived the token"
    assert command("get_api_info", headers={"Authorization": f"Bearer {get_token(creds)}"}).status_code == 200


def test_the_admin_token_survives_clock_jumps_but_api_tokens_follow_the_clock(
    client, svc, make_account, get_token, command
):
    """The clock governs API tokens, not the operator's control channel: an admin who advances the clock a
    day keeps using the admin surface with the token that did it; the same token on the command API, and
    every other account's, have expired by the emulator's clock."""
    admin_creds = make_account("read_only", admin=True)
    admin = {"Authorization": f"Bearer {get_token(admin_creds)}"}
    reader = {"Authorization": f"Bearer {get_token(make_account())}"}
    for seconds in (86_400, -3 * 86_400, 5 * 86_400):
        moved = client.post("/api/v1/admin/clock/advance", json={"seconds": seconds}, headers=admin)
        assert moved.status_code == 200, moved.get_json()
    assert client.get("/api/v1/admin/clock", headers=admin).status_code == 200
    assert client.get("/api/v1/admin/journal", headers=admin).status_code == 200
    for headers in (admin, reader):
        expired = command("get_api_info", headers=headers)
        assert expired.status_code == 401 and b"expired" in expired.data
    assert client.post("/api/v1/admin/clock/reset", headers=admin).status_code == 200
