"""The HTTP surface around the actions: the XSD endpoint, unknown paths, methods, no HTML ever."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.config import NAMESPACE_PRESETS
from tests.xmlutil import local, parse


def test_xsd_is_served_without_auth_for_the_configured_namespace(client, namespace):
    response = client.get("/api/command.xsd")
    assert response.status_code == 200 and response.content_type == "text/xml; charset=UTF-8"
    schema = etree.fromstring(response.data)
    assert schema.get("targetNamespace") == namespace
    etree.XMLSchema(schema)  # compiles


@pytest.mark.parametrize("preset", sorted(NAMESPACE_PRESETS))
def test_namespace_presets_reach_every_document(app_config, preset):
    from gateway import create_app
    from tests.conftest import ValidatingClient

    app = create_app({**app_config, "NAMESPACE": preset})
    app.test_client_class = ValidatingClient
    client = app.test_client()
    expected = NAMESPACE_PRESETS[preset]
    assert etree.fromstring(client.get("/api/command.xsd").data).get("targetNamespace") == expected
    body = client.get("/api/command?action=get_api_info").data
    assert f'<error xmlns="{expected}">'.encode() in body
    app.extensions["gateway"].store.close()


def test_custom_namespace_uri(app_config):
    from gateway import create_app

    app = create_app({**app_config, "NAMESPACE": "urn:example:bt"})
    assert b'xmlns="urn:example:bt"' in app.test_client().get("/nowhere").data
    app.extensions["gateway"].store.close()


@pytest.mark.parametrize("value", ["not a uri", 'http://x/"quote', ""])
def test_bad_namespace_is_a_clear_config_error(app_config, value):
    from gateway import create_app
    from gateway.config import ConfigError

    with pytest.raises(ConfigError, match="GATEWAY_NAMESPACE"):
        create_app({**app_config, "NAMESPACE": value})


@pytest.mark.parametrize(
    "path", ["/", "/api", "/api/command/extra", "/api/commands", "/%00", "/api/command.xsd/x"]
)
def test_unknown_paths_are_404_xml(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert local(parse(response.data)) == "error"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_xml_with_allow(client, method, auth):
    response = client.open("/api/command?action=get_api_info", method=method, headers=auth)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert local(parse(response.data)) == "error"


def test_head_has_no_body(client, auth):
    response = client.head("/api/command?action=get_api_info", headers=auth)
    assert response.status_code == 200 and response.data == b""


def test_connection_close_option(app_config, make_account):
    from gateway import create_app

    app = create_app({**app_config, "CONNECTION_CLOSE": True})
    response = app.test_client().get("/api/command?action=get_api_info")
    assert response.headers["Connection"] == "close"
    app.extensions["gateway"].store.close()


def test_keep_alive_by_default(client, auth):
    assert "Connection" not in client.get("/api/command?action=get_api_info", headers=auth).headers
