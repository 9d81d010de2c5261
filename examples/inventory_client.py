"""A small integration of the kind written against the command API: who is connected right now.

It behaves like a careful client: it gets a token with its client credentials, re-authenticates
once when a token is refused (401), and backs off on 429 and 503, honouring Retry-After.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ElementTree

import requests

NS = {"bt": "https://www.beyondtrust.com/namespaces/API/command"}


class CommandError(RuntimeError):
    """The appliance answered with an <error>."""


class InventoryClient:
    def __init__(
        self, base_url: str, client_id: str, client_secret: str, *, retries: int = 3, sleep=time.sleep
    ):
        self.base_url = base_url.rstrip("/")
        self.credentials = (client_id, client_secret)
        self.retries = retries
        self.sleep = sleep
        self.session = requests.Session()
        self.token: str | None = None

    def authenticate(self) -> None:
        response = self.session.post(
            f"{self.base_url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=self.credentials,
            timeout=10,
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]

    def command(self, action: str, **params) -> ElementTree.Element:
        if self.token is None:
            self.authenticate()
        reauthenticated = False
        for attempt in range(self.retries + 1):
            response = self.session.get(
                f"{self.base_url}/api/command",
                params={"action": action, **params},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            if response.status_code == 401 and not reauthenticated:
                self.authenticate()
                reauthenticated = True
                continue
            if response.status_code in (429, 503) and attempt < self.retries:
                self.sleep(int(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            root = ElementTree.fromstring(response.content)
            error = root if root.tag == f"{{{NS['bt']}}}error" else root.find("bt:error", NS)
            if error is not None:
                raise CommandError(error.text)
            return root
        response.raise_for_status()
        raise CommandError(f"gave up after {self.retries + 1} attempts (HTTP {response.status_code})")

    def representatives(self) -> list[dict]:
        """Logged-in representatives: username and the number of sessions they are in."""
        root = self.command("get_connected_clients", type="representative")
        return [
            {
                "username": rep.findtext("bt:username", namespaces=NS),
                "sessions": int(rep.findtext("bt:support_session_count", namespaces=NS)),
            }
            for rep in root.findall("bt:connected_representative", NS)
        ]
