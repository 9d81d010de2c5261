"""Real gunicorn processes for end-to-end tests (gateway.testing.servers), on databases prepared here."""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from gateway.config import settings
from gateway.oauth.accounts import Credentials
from gateway.services import build_services
from gateway.storage.migrate import upgrade
from gateway.testing.servers import GunicornServer as Server
from gateway.testing.servers import free_port, start_gunicorn
from tests import populations

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "Server", "free_port", "prepare", "serving", "start"]


def prepare(url: str, name: str = "integration", permission: str = "read_only", **options) -> Credentials:
    """Migrate the database at ``url``, load the small population, create an API account; its credentials."""
    svc = build_services(settings({"DATABASE_URL": url}))
    try:
        upgrade(svc.store)
        populations.load(svc.registry)
        return svc.accounts.create(name, permission, **options)
    finally:
        svc.store.close()


def start(env_overrides: dict, log: Path, **options) -> Server:
    """gunicorn with the gateway's settings, run in this checkout (gateway.testing.servers.start_gunicorn)."""
    return start_gunicorn(env_overrides, log, cwd=ROOT, **options)


def serving(tmp_path: Path, migrated_sqlite: str, env: dict[str, str], workers: int, **account) -> Server:
    """gunicorn on a copy of the migrated SQLite database with ``env``, and the bearer token of an API account
    made with ``account`` (prepare's options) as ``.token``; the caller stops it."""
    path = tmp_path / "gateway.db"
    shutil.copyfile(migrated_sqlite, path)
    url = f"sqlite:///{path}"
    creds = prepare(url, **account)
    running = start({"GATEWAY_DATABASE_URL": url, **env}, tmp_path / "gunicorn.log", workers=workers)
    running.token = requests.post(  # type: ignore[attr-defined]
        f"{running.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
        timeout=10,
    ).json()["access_token"]
    return running
