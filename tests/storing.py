"""Storage tests' shortcuts to the use cases that write rows (the registry's, the accounts'), so the storage
contract is checked through the same code paths the gateway runs."""

from __future__ import annotations

from gateway.clock import Clock
from gateway.oauth.accounts import AccountService
from gateway.registry.operations import Connect
from gateway.registry.service import Registry
from gateway.xml.clients import render_client


def registry(
    store, now: int | None = None, *, purge_before: int | None = None, keep_changes: int = 0
) -> Registry:
    """A registry on ``store``; with ``now`` its clock stands still there. ``purge_before``: disconnected
    clients that left before it go with each write (default: none); ``keep_changes`` 0 keeps every change."""
    clock = Clock()
    if now is not None:
        clock.frozen_at = now
    current = clock.now_int()
    retention = current - (0 if purge_before is None else purge_before)
    return Registry(store, clock, render_client, disconnected_retention=retention, keep_changes=keep_changes)


def replace_population(store, appliances, clients):
    return registry(store).replace_population(appliances, clients)


def insert_clients(store, clients):
    """Connect clients in one transaction (ids 0 get free ids)."""
    return registry(store).apply([Connect(client) for client in clients])


def clear_clients(store) -> None:
    with store.transaction() as unit:
        unit.registry.clear()


def issue_token(
    store,
    account_key: int,
    token_hash: str,
    *,
    issued_at: int,
    expires_at: int,
    cap: int,
    secret_hash: str | None = None,
) -> bool:
    return AccountService(store, Clock(), token_cap=cap).issue_token(
        account_key, token_hash, issued_at, expires_at, secret_hash=secret_hash
    )
