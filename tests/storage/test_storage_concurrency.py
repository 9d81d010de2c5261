"""Invariants under parallel writers in several OS processes, on every engine (several gunicorn workers on
SQLite; several workers on several nodes on PostgreSQL): the token cap, unique client ids, the last 20 events,
and connects that leave the id to the store never refused for an id another writer named.

Jobs run through tests.processes.run_in_processes; a job is a module-level function ``job(store, *args)``.
Parallel event appends: several processes append to the same few clients through the feed's store path;
exactly the last 20 events of each client's whole history reach its XML.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.oauth.models import Account
from gateway.registry.model import ClientQuery
from gateway.storage import open_store
from gateway.storage import tables as t
from gateway.xml.clients import render_client
from tests import populations, storing
from tests.processes import processes_barrier, run_in_processes

PROCESSES = 4


def issue_tokens(store, account_key: int, prefix: str, count: int) -> int:
    """Issue tokens; return the most valid tokens this process saw the account hold after any commit."""
    most = 0
    for i in range(count):
        storing.issue_token(store, account_key, f"{prefix}-{i}", issued_at=100, expires_at=4000, cap=30)
        most = max(most, store.accounts.count_valid_tokens("id-cap", now=200))
    return most


def insert_new_clients(store, batches: int, batch_size: int) -> list[int]:
    """Insert clients with id 0 (the store picks the id), ``batch_size`` per transaction."""
    ids = []
    for _ in range(batches):
        batch = populations.clients()[:batch_size]
        for client in batch:
            client.id = 0
        storing.insert_clients(store, batch)
        ids.extend(c.id for c in batch)
    return ids


def test_token_cap_holds_across_processes(database_url):
    store = open_store(database_url)
    try:
        key = store.accounts.create_account(
            Account(client_id="id-cap", name="cap", secret_hash="x", created_at=1)
        ).key
        most = run_in_processes(database_url, issue_tokens, [(key, f"p{n}", 60) for n in range(PROCESSES)])
        with store.engine.connect() as conn:
            rows = conn.execute(select(t.tokens.c.key, t.tokens.c.revoked).order_by(t.tokens.c.key)).all()
    finally:
        store.close()
    assert max(most) == 30, "no writer ever saw more than the cap valid"
    assert len(rows) == PROCESSES * 60
    valid = [k for k, revoked in rows if not revoked]
    assert len(valid) == 30, "exactly the cap survives"
    assert valid == [k for k, _ in rows[-30:]], "the survivors are the 30 issued last"


def test_new_client_ids_are_unique_across_processes(database_url):
    batch_sizes = [1, 1, 3, 5]
    results = run_in_processes(database_url, insert_new_clients, [(12, size) for size in batch_sizes])
    ids = [i for result in results for i in result]
    expected = sum(12 * size for size in batch_sizes)
    assert len(ids) == expected
    assert sorted(ids) == list(range(1, expected + 1)), "unique, and no id handed out twice or skipped"
    for result in results:
        assert result == sorted(result), "each writer sees ids grow"
    store = open_store(database_url)
    try:
        assert store.registry.count_clients() == expected
    finally:
        store.close()


def feed_registry(store):
    """The registry as the feed API drives it, on a job's store."""
    from gateway.clock import Clock
    from gateway.registry.service import Registry

    return Registry(store, Clock(), render=render_client)


def append_events(store, process: int, client_ids: list[int], rounds: int, last_barrier=None) -> int:
    """Append one event per client per round, each its own transaction (as feed requests are); then all
    processes append to the first client at the same moment (the write whose render the XML keeps)."""
    from gateway.registry.model import Event
    from gateway.registry.operations import AppendEvents

    registry = feed_registry(store)
    for round_ in range(rounds):
        for client_id in client_ids:
            registry.apply([AppendEvents(client_id, [Event(ts=0, text=f"p{process} r{round_}")])])
    last_barrier.wait(timeout=60)
    registry.apply([AppendEvents(client_ids[0], [Event(ts=0, text=f"p{process} last")])])
    return rounds * len(client_ids) + 1


def test_parallel_event_appends_keep_exactly_the_last_20(database_url):
    from lxml import etree

    from gateway.registry.model import ClientQuery

    store = open_store(database_url)
    try:
        storing.replace_population(store, populations.appliances(), populations.clients())
        ids = [101, 102, 105]
        last = processes_barrier(PROCESSES)
        written = run_in_processes(
            database_url, append_events, [(p, ids, 15, last) for p in range(PROCESSES)]
        )
        assert sum(written) == PROCESSES * (15 * len(ids) + 1)
        history = {
            c.id: c.events for c in store.registry.list_clients(ClientQuery(ids=tuple(ids)), with_events=True)
        }
        fragments = list(store.registry.iter_fragments(ClientQuery(ids=tuple(ids), include_connections=True)))
    finally:
        store.close()
    for fragment in fragments:
        element = etree.fromstring(fragment)
        shown = [e.text for e in element.find("client_connections/event_log")]
        full = history[int(element.get("id"))]
        assert len(shown) == 20
        assert shown == [e.text for e in full[-20:]], "the XML shows exactly the newest 20 of the history"
        assert sum(1 for e in full if e.text.startswith("p")) == PROCESSES * (
            16 if element.get("id") == "101" else 15
        )


def connect_clients(store, explicit: bool, count: int) -> list[str]:
    """Connect ``count`` clients through the feed's write path, each its own transaction: naming the id the
    store would hand out next (``explicit``: read from its counter just before) or leaving it to the store.
    Returns the conflicts met (a 409 each)."""
    from gateway.errors import ConflictError
    from gateway.registry.operations import Connect

    registry = feed_registry(store)
    conflicts = []
    for _ in range(count):
        client = populations.clients()[0]
        client.connections = []  # no appliance to create: nothing else serialises the writers
        client.id = store.changes.read_counters(("client_id",))["client_id"] + 1 if explicit else 0
        try:
            registry.apply([Connect(client)])
        except ConflictError as exc:
            conflicts.append(f"{'named' if explicit else 'picked'} id {client.id}: {exc}")
    return conflicts


def test_connects_that_pick_an_id_never_conflict_with_connects_that_name_one(database_url):
    """Writers naming the id the store is about to hand out, and writers leaving the id to the store, at
    once: a named id already held is a conflict (409), but a connect that named no id always gets a free
    one."""
    store = open_store(database_url)
    try:
        storing.replace_population(store, populations.appliances(), [])
    finally:
        store.close()
    results = run_in_processes(
        database_url, connect_clients, [(True, 60), (False, 60), (True, 60), (False, 60)]
    )
    picked_conflicts = results[1] + results[3]
    assert picked_conflicts == [], f"{len(picked_conflicts)} picked connects refused: {picked_conflicts[:3]}"
    store = open_store(database_url)
    try:
        ids = [c.id for c in store.registry.list_clients(ClientQuery())]
    finally:
        store.close()
    named = 120 - len(results[0]) - len(results[2])  # a named id is refused once it is held, by either kind
    assert len(ids) == len(set(ids)) == 120 + named, (
        "each id held once: every picked connect, every named one not refused"
    )
