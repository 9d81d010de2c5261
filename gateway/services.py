"""The components one gateway is wired from, built by :func:`build_services` - the one composition root that
the app factory, the CLI, the benchmark, the pytest plugin and the tests share. An app keeps its
``Services`` on ``app.extensions["gateway"]`` (gateway.web.services() reads it in a request)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.api.streaming import StreamSlots
from gateway.clock import Clock
from gateway.command.cache import DocumentCache
from gateway.controls import Controls
from gateway.oauth.accounts import AccountService
from gateway.oauth.bearer import Authenticator
from gateway.registry.service import Registry
from gateway.registry.session_service import Sessions
from gateway.storage import Storage, open_store
from gateway.versions import Versions


@dataclass
class Services:
    #: The database and its repositories (``store.registry``, ``store.accounts``, ...; gateway.storage).
    store: Storage
    clock: Clock
    registry: Registry
    #: Support sessions, session keys and support teams (gateway.registry.session_service).
    sessions: Sessions
    accounts: AccountService
    authenticate: Authenticator
    #: Emulator controls: faults, shared clock, journal, rate limits (gateway.controls).
    controls: Controls
    #: The shared change counters read once per API request (gateway.versions).
    versions: Versions
    #: Live event streams this process serves (gateway.api.events).
    streams: StreamSlots
    #: Rendered get_connected_clients documents, kept until the next registry write (gateway.command.cache).
    documents: DocumentCache


def build_services(config: Mapping[str, Any]) -> Services:
    """Every component of one gateway, from a loaded configuration (see gateway.config.settings)."""
    from gateway.controls import hooks as controls_hooks  # the hooks module imports this one (services())
    from gateway.xml.clients import render_client

    store = open_store(
        config["DATABASE_URL"],
        sqlite_busy_timeout_ms=config["SQLITE_BUSY_TIMEOUT_MS"],
        pool_size=config["DB_POOL_SIZE"],
        timeout=config["DB_TIMEOUT"],
        statement_timeout=config["DB_STATEMENT_TIMEOUT"],
    )
    clock = Clock()
    controls = Controls(store, clock, config)
    versions = Versions(store.changes)
    registry = Registry(
        store,
        clock,
        render=render_client,
        disconnected_retention=config["DISCONNECTED_RETENTION"],
        keep_changes=config["CHANGES_KEEP"],
    )
    accounts = AccountService(store, clock, config["TOKEN_LIFETIME"], config["TOKEN_CAP"], versions=versions)
    return Services(
        store=store,
        clock=clock,
        registry=registry,
        sessions=Sessions(store, registry, clock),
        accounts=accounts,
        authenticate=controls_hooks.ControlledAuthenticator(accounts, controls),
        controls=controls,
        versions=versions,
        streams=StreamSlots(config["STREAMS_PER_WORKER"], config["STREAMS_PER_ACCOUNT"]),
        documents=DocumentCache(config["DOCUMENT_CACHE_BYTES"], config["DOCUMENT_CACHE_MAX_DOCUMENT"]),
    )
