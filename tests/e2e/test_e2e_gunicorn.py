"""End to end: real gunicorn workers, real sockets, HTTP and HTTPS, an integration written the way
third-party scripts talk to real appliances."""

from __future__ import annotations

import concurrent.futures
import xml.etree.ElementTree as ElementTree

import pytest
import requests

from gateway.config import NAMESPACE_PRESETS
from tests import populations
from tests.conftest import assert_wire_body
from tests.server import prepare, start

pytestmark = pytest.mark.e2e


class LegacyIntegration:
    """Behaves like shipped appliance clients: Basic-auth token request, GET with params,
    delete the namespace attribute text, parse with ElementTree, re-authenticate once on 401."""

    def __init__(self, base: str, client_id: str, secret: str, namespace: str, verify=None):
        self.base, self.client_id, self.secret, self.namespace = base, client_id, secret, namespace
        self.session = requests.Session()
        self.verify = verify
        self.token = None

    def connect(self):
        response = self.session.post(
            f"{self.base}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.secret),
            timeout=10,
            verify=self.verify,
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]

    def command(self, action: str, **params) -> ElementTree.Element:
        for attempt in (1, 2):
            response = self.session.get(
                f"{self.base}/api/command",
                params={"action": action, **params},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
                verify=self.verify,
            )
            assert_wire_body(
                response.status_code, response.headers["Content-Type"], response.content, self.namespace
            )
            if response.status_code == 401 and attempt == 1:
                self.connect()
                continue
            response.raise_for_status()
            text = response.content.decode("utf-8").replace(f'xmlns="{self.namespace}"', "")
            return ElementTree.fromstring(text)


@pytest.fixture
def database(database_url):
    return database_url, prepare(database_url)


@pytest.mark.parametrize("preset", sorted(NAMESPACE_PRESETS))
def test_legacy_integration_over_http(tmp_path, database, preset):
    url, creds = database
    server = start({"GATEWAY_DATABASE_URL": url, "GATEWAY_NAMESPACE": preset}, tmp_path / "gunicorn.log")
    try:
        integration = LegacyIntegration(
            server.url, creds.account.client_id, creds.client_secret, NAMESPACE_PRESETS[preset]
        )
        integration.connect()
        root = integration.command("get_connected_clients", include_connections=1)
        assert [el.tag for el in root] == [
            "connected_representative",
            "connected_support_customer",
            "connected_support_customer",
            "connected_presentation_attendee",
            "connected_push_agent",
        ]
        assert root.find("connected_representative/username").text == "jsmith"
        summary = integration.command("get_connected_client_list", summary_only=1)
        assert summary.find("connected_client_summary/appliance_summary").get("id") == populations.PRIMARY
        assert int(integration.command("get_api_info").find("timestamp").text) > 0
        integration.token = "expired-or-junk"
        assert integration.command("check_health").find("success").text == "1", "re-authenticates once on 401"
        full = requests.get(f"{server.url}/api/command.xsd", timeout=5)
        assert full.status_code == 200 and NAMESPACE_PRESETS[preset] in full.text
    finally:
        server.stop()


def test_tokens_work_on_every_worker_and_parallel_requests_agree(tmp_path, database):
    url, creds = database
    server = start({"GATEWAY_DATABASE_URL": url}, tmp_path / "gunicorn.log", workers=3)
    try:
        token = requests.post(
            f"{server.url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
            timeout=10,
        ).json()["access_token"]

        def fetch(_):
            response = requests.get(
                f"{server.url}/api/command",
                params={"action": "get_connected_clients", "include_connections": 1},
                headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                timeout=30,
            )
            return response.status_code, response.content

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(fetch, range(48)))
        assert {status for status, _ in results} == {200}
        assert len({body for _, body in results}) == 1
        tokens = [
            requests.post(
                f"{server.url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(creds.account.client_id, creds.client_secret),
                timeout=10,
            ).json()["access_token"]
            for _ in range(31)
        ]
        evicted = requests.get(
            f"{server.url}/api/command",
            params={"action": "get_api_info"},
            headers={"Authorization": f"Bearer {tokens[0]}"},
            timeout=10,
        )
        assert evicted.status_code == 401, "the cap holds across workers"
    finally:
        server.stop()


def test_https_with_the_generated_ca(tmp_path, database, monkeypatch):
    from gateway import tls

    url, creds = database
    files = tls.init(tmp_path / "tls")
    server = start(
        {"GATEWAY_DATABASE_URL": url, "GATEWAY_TLS_CERT": str(files.cert), "GATEWAY_TLS_KEY": str(files.key)},
        tmp_path / "gunicorn.log",
        scheme="https",
        verify=str(files.ca_cert),
    )
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(files.ca_cert))
        integration = LegacyIntegration(
            server.url, creds.account.client_id, creds.client_secret, NAMESPACE_PRESETS["beyondtrust"]
        )
        integration.connect()
        assert len(integration.command("get_connected_clients")) == 5
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{server.url}/check_health", timeout=5, verify="/etc/ssl/certs/ca-certificates.crt")
    finally:
        server.stop()
