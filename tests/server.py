"""Real gunicorn processes for end-to-end tests (gateway.testing.servers), on databases prepared here."""

from __future__ import annotations

from pathlib import Path

from gateway.config import settings
from gateway.oauth.accounts import Credentials
from gateway.services import build_services
from gateway.storage.migrate import upgrade
from gateway.testing.servers import GunicornServer as Server
from gateway.testing.servers import free_port, start_gunicorn
from tests import populations

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "Server", "free_port", "prepare", "start"]


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
