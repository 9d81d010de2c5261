"""Importing captures of real appliances' get_connected_clients answers: round trips after C14N 2.0,
either namespace, UTC offsets kept, and hostile or inconsistent XML refused without a change."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import canonicalize

import pytest

from gateway import create_app
from gateway.cli import main
from gateway.config import NAMESPACE_PRESETS
from gateway.registry.model import ClientQuery
from tests.conftest import ValidatingClient
from tests.feeding import bearer, snapshot
from tests.xmlutil import canonical, parse

CAPTURES = Path(__file__).parent / "captures"
NAMESPACE_OF = {
    "beyondtrust_every_type.xml": "beyondtrust",
    "beyondtrust_indented.xml": "beyondtrust",
    "beyondtrust_empty.xml": "beyondtrust",
    "bomgar_offsets.xml": "bomgar",
}

#: Captures written on one line (the others are indented as appliances write them).
ONE_LINE = ("beyondtrust_every_type.xml", "bomgar_offsets.xml")


@pytest.fixture
def app_for(app_config):
    """app_for(preset) -> a gateway serving in that namespace (on the test's database)."""
    apps = []

    def make(preset: str, layout: str = "pretty"):
        app = create_app({**app_config, "NAMESPACE": preset, "XML_LAYOUT": layout})
        app.test_client_class = ValidatingClient
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gateway"].store.close()


def served(client, headers, **params) -> bytes:
    response = client.get(
        "/api/command", query_string={"action": "get_connected_clients", **params}, headers=headers
    )
    assert response.status_code == 200
    return response.data


@pytest.mark.parametrize("name", sorted(NAMESPACE_OF))
def test_a_capture_imported_and_served_again_is_equal_after_c14n(app_for, make_account, name):
    # Served in the capture's own layout: one element per line for the indented capture, one line otherwise.
    app = app_for(NAMESPACE_OF[name], "compact" if name in ONE_LINE else "pretty")
    client = app.test_client()
    creds = make_account("read_only", feed=True)
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    ).get_json()["access_token"]
    capture = (CAPTURES / name).read_bytes()
    response = client.post("/api/v1/import/xml", data=capture, content_type="text/xml", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["namespace"] == NAMESPACE_PRESETS[NAMESPACE_OF[name]]
    again = served(client, bearer(token), include_connections=1)
    assert canonical(again) == canonical(capture)
    if (
        name in ONE_LINE
    ):  # the other layout differs only in whitespace between elements (C14N's TrimTextNodes)
        again = served(app_for(NAMESPACE_OF[name]).test_client(), bearer(token), include_connections=1)
        assert canonicalize(again, strip_text=True) == canonicalize(capture, strip_text=True)


def test_round_trip_covers_every_type_offsets_and_special_characters():
    """The captures above are worth their name: every client type, both non_interactive values,
    empty and full (20) event logs, offsets other than UTC, escaped and non-ASCII text."""
    every = parse((CAPTURES / "beyondtrust_every_type.xml").read_bytes())
    bomgar = (CAPTURES / "bomgar_offsets.xml").read_bytes()
    tags = {el.tag.split("}")[1] for el in every}
    assert tags == {
        "connected_representative",
        "connected_support_customer",
        "connected_presentation_attendee",
        "connected_push_agent",
    }
    ns = {"bt": NAMESPACE_PRESETS["beyondtrust"]}
    assert {el.text for el in every.iterfind(".//bt:non_interactive", ns)} == {"rdp", "shelljump"}
    assert {0, 1, 20} <= {len(log) for log in every.iterfind(".//bt:event_log", ns)}
    for offset in (b"-05:00<", b"+05:30<", b"Z<", b"+14:00<"):
        assert offset in bomgar
    assert b"&#x1F600;" in bomgar and b"&#13;" in bomgar and b"&amp;" in bomgar


def test_offsets_are_kept_and_the_json_side_tells_them(client, feed, svc):
    response = client.post(
        "/api/v1/import/xml",
        data=(CAPTURES / "bomgar_offsets.xml").read_bytes(),
        content_type="application/xml",
        headers=feed,
    )
    assert response.status_code == 200
    rep = svc.store.registry.list_clients(ClientQuery(ids=(12,)))[0]
    assert rep.connected_since_offset == "-05:00" and rep.connections[0].connected_since_offset == "-05:00"
    jumpoint = client.get(
        "/api/command",
        query_string={"action": "get_connected_clients", "id": 2147483647, "include_connections": 1},
        headers=feed,
    )
    assert b"+14:00</connected_since>" in jumpoint.data and b"line&#13;two" in jumpoint.data


def test_imported_events_get_kinds_and_unknown_appliances_placeholders(client, feed, svc):
    body = client.post(
        "/api/v1/import/xml",
        data=(CAPTURES / "beyondtrust_every_type.xml").read_bytes(),
        content_type="text/xml",
        headers=feed,
    ).get_json()
    assert body == {
        "mode": "replace",
        "namespace": NAMESPACE_PRESETS["beyondtrust"],
        "imported": 6,
        "appliances_created": [
            "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00",
            "0A9B8C7D-6E5F-4A3B-8C2D-1E0F9A8B7C6D",
        ],
    }
    assert [a.name for a in svc.registry.appliances()] == ["appliance-6f1c2a9e", "appliance-0a9b8c7d"]
    summary = client.get(
        "/api/command", query_string={"action": "get_connected_client_list", "summary_only": 1}, headers=feed
    )
    assert b'<appliance_summary id="6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00">' in summary.data
    rep = svc.store.registry.list_clients(ClientQuery(ids=(3,)), with_events=True)[0]
    assert [e.kind for e in rep.events] == ["connect", "failure", "connect"]


def test_replace_then_merge(client, feed, svc):
    every = (CAPTURES / "beyondtrust_every_type.xml").read_bytes()
    assert (
        client.post("/api/v1/import/xml", data=every, content_type="text/xml", headers=feed).status_code
        == 200
    )
    before = snapshot(svc)
    clash = client.post("/api/v1/import/xml?mode=merge", data=every, content_type="text/xml", headers=feed)
    assert clash.status_code == 409
    assert clash.get_json()["details"]["field"] == "id" and "line" in clash.get_json()["details"]
    assert "connected_representative" in clash.get_json()["message"]
    assert snapshot(svc) == before
    merged = client.post(
        "/api/v1/import/xml?mode=merge",
        data=(CAPTURES / "bomgar_offsets.xml").read_bytes(),
        content_type="text/xml",
        headers=feed,
    )
    assert merged.status_code == 200 and svc.registry.count() == 10


HOSTILE = {
    "billion laughs": b'<?xml version="1.0"?>'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b'<connected_clients xmlns="urn:x">&lol2;</connected_clients>',
    "external entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<connected_clients xmlns="urn:x">&xxe;</connected_clients>',
    "external dtd": b'<?xml version="1.0"?><!DOCTYPE connected_clients SYSTEM "http://127.0.0.1:9/x.dtd">'
    b'<connected_clients xmlns="urn:x"/>',
    "not well-formed": b'<connected_clients xmlns="urn:x"><connected_push_agent id="1">',
    "no namespace": b"<connected_clients/>",
    "another document": b'<check_health xmlns="urn:x"/>',
    "an error answer": b'<connected_clients xmlns="urn:x"><error>Invalid type</error></connected_clients>',
    "unknown element": b'<connected_clients xmlns="urn:x"><connected_robot id="1"/></connected_clients>',
    "empty body": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_foreign_xml_is_refused_and_changes_nothing(client, feed, svc, name):
    before = snapshot(svc)
    response = client.post("/api/v1/import/xml", data=HOSTILE[name], content_type="text/xml", headers=feed)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == "invalid_request" and body["details"]["field"]
    if "entity" in name or "laughs" in name or "dtd" in name:
        assert (
            "DOCTYPE" in body["message"] and "lol" not in body["message"] and "root:" not in body["message"]
        )
    assert snapshot(svc) == before


def _every_type() -> str:
    return (CAPTURES / "beyondtrust_every_type.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "change, field, words",
    [
        (
            lambda x: x.replace('<connected_since ts="1789999400">', '<connected_since ts="1789999401">', 1),
            "connected_since",
            "another instant",
        ),
        (
            lambda x: x.replace("2026-09-21T14:03:20+00:00", "2026-09-21T14:03:20.000+00:00", 1),
            "client_connection/connected_since",
            "YYYY-MM-DDTHH:MM:SS",
        ),
        (
            lambda x: x.replace("2026-09-21T14:03:20+00:00", "9999-12-31T23:59:59-14:00", 1),
            "client_connection/connected_since",
            "out of range",
        ),
        (
            lambda x: x.replace(
                '<connected_presentation_attendee id="9">', '<connected_presentation_attendee id="8">'
            ),
            "id",
            "listed twice",
        ),
        (
            lambda x: x.replace(
                "<support_session_count>2</support_session_count>",
                "<support_session_count>3</support_session_count>",
            ),
            "representative.support_session_count",
            "2 lsids",
        ),
        (
            lambda x: x.replace(
                "<hostname>DESKTOP-7F3KQ2A</hostname>", "<hostname>" + "h" * 300 + "</hostname>", 1
            ),
            "hostname",
            "between 0 and 255",
        ),
        (
            lambda x: x.replace(
                "<lsid>0c1d2e3f405162738495a6b7c8d9eaf0</lsid></connected_support_customer>",
                "<lsid></lsid></connected_support_customer>",
            ),
            "lsid",
            "between 1 and 64",
        ),
        (
            lambda x: x.replace("<purpose>traffic</purpose>", "<purpose>backup</purpose>", 1),
            "body",
            "purpose",
        ),
    ],
)
def test_inconsistent_captures_name_the_element_and_line(client, feed, svc, change, field, words):
    before = snapshot(svc)
    response = client.post(
        "/api/v1/import/xml", data=change(_every_type()).encode(), content_type="text/xml", headers=feed
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["details"]["field"] == field and body["details"]["line"] >= 1
    assert words in body["message"] and "line" in body["message"]
    assert snapshot(svc) == before


def test_size_cap_and_media_type(app_config):
    app = create_app({**app_config, "FEED_MAX_BODY": 4096})
    client = app.test_client()
    account = app.extensions["gateway"].accounts.create("importer", "read_only", feed=True)
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(account.account.client_id, account.client_secret),
    ).get_json()["access_token"]
    big = client.post(
        "/api/v1/import/xml",
        data=(CAPTURES / "beyondtrust_every_type.xml").read_bytes(),
        content_type="text/xml",
        headers=bearer(token),
    )
    assert big.status_code == 413 and big.get_json()["error"] == "request_too_large"
    json_body = client.post("/api/v1/import/xml", json={"x": 1}, headers=bearer(token))
    assert json_body.status_code == 415
    bad_mode = client.post(
        "/api/v1/import/xml?mode=append", data=b"<x/>", content_type="text/xml", headers=bearer(token)
    )
    assert bad_mode.status_code == 400 and bad_mode.get_json()["details"]["field"] == "mode"
    app.extensions["gateway"].store.close()


def test_import_needs_the_feed_permission(client, auth):
    response = client.post("/api/v1/import/xml", data=b"<x/>", content_type="text/xml", headers=auth)
    assert response.status_code == 403


def test_cli_import_xml(app, svc, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["clients", "import-xml", str(CAPTURES / "beyondtrust_every_type.xml")])
    assert result.exit_code == 0, result.output
    assert "Imported 6 clients" in result.output and "placeholder appliances" in result.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(HOSTILE["billion laughs"])
    refused = runner.invoke(main, ["clients", "import-xml", str(bad)])
    assert refused.exit_code != 0 and "DOCTYPE" in refused.output
    assert svc.registry.count() == 6
