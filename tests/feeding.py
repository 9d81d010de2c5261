"""Helpers for the feed's tests: credentials with the feed or admin permission, and a snapshot of
everything a rejected write must leave unchanged."""

from __future__ import annotations

import pytest

from gateway.registry.model import ClientQuery
from gateway.seeding import fixtures


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def feed(make_account, get_token) -> dict:
    """Authorization headers of an account with the feed permission (and read_only command access)."""
    return bearer(get_token(make_account("read_only", feed=True)))


@pytest.fixture
def admin(make_account, get_token) -> dict:
    return bearer(get_token(make_account("read_only", admin=True)))


def snapshot(svc) -> tuple:
    """Appliances, connected clients with their whole event history, disconnected count and the change log."""
    connected = svc.store.registry.list_clients(ClientQuery(), with_events=True)
    return (
        fixtures.dumps(svc.registry.appliances(), connected, "json"),
        svc.store.registry.count_clients(connected=False),
        [(c.seq, c.kind) for c in svc.store.changes.changes_after(0, 100_000)],
    )
