"""Inputs an attacker (or a broken client) sends, on every face: a 4xx with the face's usual error, nothing
changed, and every reader still served XSD-valid documents afterwards (issue 15)."""

from __future__ import annotations

import pytest

from tests import populations
from tests.api.test_feed_api import customer_body
from tests.feeding import snapshot

PRIMARY = populations.PRIMARY
READERS = [
    ("get_connected_clients", {"include_connections": "1"}),
    ("get_appliances", {}),
    ("get_connected_client_list", {}),
]


@pytest.fixture
def loaded(svc):
    populations.load(svc.registry)


def _readers_still_valid(command):
    for action, params in READERS:
        response = command(action, **params)  # the validating client checks each body against the XSD
        assert response.status_code == 200 and b"<error" not in response.data


@pytest.mark.parametrize(
    "body",
    [
        customer_body(connections=[{"appliance_id": PRIMARY + "\n"}]),
        customer_body(connections=[{"appliance_id": PRIMARY, "connected_since_offset": "+01:00\n"}]),
        customer_body(connected_since_offset="Z\n"),
    ],
)
def test_a_trailing_newline_does_not_pass_a_pattern(client, feed, svc, loaded, command, body):
    before = snapshot(svc)
    response = client.post("/api/v1/clients", json=body, headers=feed)
    assert response.status_code == 400, response.data
    assert response.get_json()["error"] == "invalid_request"
    assert snapshot(svc) == before
    _readers_still_valid(command)


def test_an_appliance_guid_with_a_newline_in_the_path_is_refused(client, feed, svc, loaded, command):
    before = snapshot(svc)
    response = client.put(f"/api/v1/appliances/{PRIMARY}%0A", json={"name": "x"}, headers=feed)
    assert 400 <= response.status_code < 500
    assert snapshot(svc) == before
    _readers_still_valid(command)


@pytest.mark.parametrize(
    "ids, refused", [("1" * 5000, True), ("1," + "9" * 4400, True), ("0" * 4400 + "1", False)]
)
def test_huge_integers_in_parameters_are_parameter_errors(command, ids, refused):
    response = command("get_connected_clients", id=ids)
    assert response.status_code == 200
    assert (b"<error" in response.data) is refused, "leading zeros do not make a number large"


def test_a_huge_fault_id_is_404_json(client, admin):
    response = client.delete("/api/v1/admin/faults/9223372036854775808", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize(
    "body", [{"connected_since": None}, {"hostname": None}, {"timezone_offset": None}, {"connections": None}]
)
def test_null_for_a_required_field_in_a_patch_is_400(client, feed, svc, body):
    created = client.post("/api/v1/clients", json=customer_body(), headers=feed).get_json()
    before = snapshot(svc)
    response = client.patch(f"/api/v1/clients/{created['id']}", json=body, headers=feed)
    assert response.status_code == 400, response.data
    batch = client.post(
        "/api/v1/batch", json={"operations": [{"op": "update", "id": created["id"], **body}]}, headers=feed
    )
    assert batch.status_code == 400, batch.data
    assert snapshot(svc) == before


@pytest.mark.parametrize(
    "pattern, replacement",
    [
        (r' id="\d+"', ' id="{}"'),
        (r' ts="\d+"', ' ts="{}"'),
        (r"<timezone_offset>-?\d+</timezone_offset>", "<timezone_offset>{}</timezone_offset>"),
    ],
)
def test_huge_integers_in_an_xml_import_are_400(client, feed, svc, pattern, replacement):
    """A real capture with one number of 5,000 digits (Python refuses to convert more than 4,300)."""
    import re
    from pathlib import Path

    capture = (Path(__file__).parent / "xml" / "captures" / "beyondtrust_every_type.xml").read_text()
    xml = re.sub(pattern, replacement.format("9" * 5000), capture, count=1)
    assert xml != capture
    before = snapshot(svc)
    response = client.post("/api/v1/import/xml", data=xml, content_type="text/xml", headers=feed)
    assert 400 <= response.status_code < 500, response.data
    assert snapshot(svc) == before


def test_api_answers_carry_nosniff_and_secrets_no_store(client, admin, command):
    for response in (
        command("get_api_info"),
        client.get("/api/v1/clients", headers=admin),
        client.get("/check_health"),
        client.get("/api/v1/nowhere"),
    ):
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.request.path
    created = client.post(
        "/api/v1/admin/accounts", json={"name": "secret-holder", "permission": "read_only"}, headers=admin
    )
    assert created.status_code in (200, 201), created.data
    assert "client_secret" in created.get_json()
    assert "no-store" in created.headers.get("Cache-Control", "")


def test_the_sqlite_database_file_is_private(tmp_path):
    from gateway import create_app
    from gateway.cli import main

    path = tmp_path / "fresh.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}"})
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert path.exists()
    assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)
