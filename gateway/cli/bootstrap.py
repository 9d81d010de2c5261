"""What a gateway needs before it serves: the schema, a population, the demo account.

``gateway serve`` runs all three; ``gateway accounts demo`` runs the last. Each step is idempotent, so a
restart (or a second node on the same database) keeps what is there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError
from gateway.oauth.accounts import Credentials
from gateway.oauth.secrets import verify_secret
from gateway.seeding import demo as demo_population
from gateway.seeding import fixtures
from gateway.services import Services
from gateway.storage import migrate

#: Where the demo account's generated secret is kept (0600) so that every start can print it again.
DEMO_CREDENTIALS_FILE = "var/demo-credentials.json"


class BootstrapError(GatewayError):
    """A bootstrap step that cannot run as configured; the message names the setting to change."""

    status = 400
    code = "bootstrap_failed"


def upgrade(svc: Services, database_url: str) -> str:
    """Migrate the schema to the newest revision; what was done, in one line."""
    before = migrate.current_revision(svc.store)
    migrate.upgrade(svc.store)
    after = migrate.current_revision(svc.store)
    where = database_url.split("@")[-1]
    if before == after:
        return f"Database {where} is up to date (revision {after})."
    return f"Database {where} upgraded from {before or 'empty'} to revision {after}."


def populate(svc: Services, config: Mapping[str, Any], *, demo: bool = True, seed: int = 2026) -> str:
    """Load GATEWAY_BOOT_FIXTURE (a named fixture or a file), else the demo population (unless ``demo`` is
    False), into an empty registry; a registry that holds clients is kept."""
    boot = config.get("BOOT_FIXTURE", "")
    if not boot and not demo:
        return "No population loaded (--no-demo)."
    existing = svc.registry.count()
    if existing:
        return f"The registry already holds {existing} connected clients; kept them."
    if boot:
        return _load_fixture(svc, boot, config.get("FIXTURES_DIR", ""))
    appliances, clients = demo_population.load(svc.registry, svc.sessions, svc.clock.now_int(), seed=seed)
    return f"Loaded the demo population: {appliances} appliances and {len(clients)} clients."


def _load_fixture(svc: Services, boot: str, fixtures_dir: str) -> str:
    path = Path(boot)
    if path.suffix.lower() in fixtures.SUFFIXES or os.sep in boot:
        if not path.is_file():
            raise BootstrapError(f"GATEWAY_BOOT_FIXTURE={boot!r}: no such fixture file.")
        try:  # streamed and written in batches, as `gateway clients load` does
            appliances, count = fixtures.load(svc.registry, path)
        except GatewayError as exc:
            raise BootstrapError(f"GATEWAY_BOOT_FIXTURE: {exc.message}") from None
        return f"Loaded {appliances} appliances and {count} clients from {boot}."
    try:
        result = fixtures.reset(svc.registry, boot, configured=fixtures_dir, sessions=svc.sessions)
    except GatewayError as exc:
        raise BootstrapError(f"GATEWAY_BOOT_FIXTURE: {exc.message}") from None
    return f"Loaded fixture {boot!r}: {result['appliances']} appliances and {result['clients']} clients."


@dataclass
class DemoAccount:
    credentials: Credentials
    #: Created, Reusing, or what changed.
    verb: str
    #: The secret came from GATEWAY_DEMO_CLIENT_SECRET: the operator knows it, it is not printed.
    given_secret: bool = False

    def lines(self) -> list[str]:
        creds = self.credentials
        secret = "(GATEWAY_DEMO_CLIENT_SECRET)" if self.given_secret else creds.client_secret
        return [
            f"{self.verb} demo API account {creds.account.name!r} ({creds.account.permission}):",
            f"  client_id:     {creds.account.client_id}",
            f"  client_secret: {secret}",
        ]


def demo_account(
    svc: Services,
    name: str = "demo",
    path: str = DEMO_CREDENTIALS_FILE,
    client_id: str = "",
    secret: str = "",
) -> DemoAccount:
    """Make sure the read_only demo account exists; its credentials.

    ``client_id`` and ``secret`` (GATEWAY_DEMO_CLIENT_ID / _SECRET) fix them; the database keeps only the
    secret's hash, and a given secret is written nowhere. A generated secret is kept in the 0600 file
    ``path`` beside the database so that every start can print it again; no other secret is ever written
    in clear.
    """
    account = svc.accounts.find(name)
    if client_id and account is not None and account.client_id != client_id:
        raise BootstrapError(
            f"The API account {name!r} exists with client id {account.client_id}, not GATEWAY_DEMO_CLIENT_ID"
            f"={client_id}; remove it (gateway registry reset --drop-accounts) or unset the setting."
        )
    try:
        if secret:
            if account is None:
                creds = svc.accounts.create(name, "read_only", client_id=client_id or None, secret=secret)
                return DemoAccount(creds, "Created", given_secret=True)
            if verify_secret(secret, account.secret_hash):
                return DemoAccount(Credentials(account, secret), "Reusing", given_secret=True)
            creds = svc.accounts.regenerate_secret(name, secret=secret)
            return DemoAccount(creds, "Set the secret of", given_secret=True)
        file = Path(path)
        saved = json.loads(file.read_text()) if file.exists() else {}
        if (
            account is not None
            and saved.get("client_id") == account.client_id
            and verify_secret(saved.get("client_secret", ""), account.secret_hash)
        ):
            return DemoAccount(Credentials(account, saved["client_secret"]), "Reusing")
        if account is not None:
            creds, verb = svc.accounts.regenerate_secret(name), "Regenerated the secret of"
        else:
            creds, verb = svc.accounts.create(name, "read_only", client_id=client_id or None), "Created"
    except ValueError as exc:
        raise BootstrapError(f"GATEWAY_DEMO_CLIENT_ID / GATEWAY_DEMO_CLIENT_SECRET: {exc}") from None
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"client_id": creds.account.client_id, "client_secret": creds.client_secret}, out)
    return DemoAccount(creds, verb)
