"""The storage contract, the same for every backend (the database_url fixture names the engine)."""

from __future__ import annotations

import concurrent.futures

import pytest

from gateway.errors import ConflictError
from gateway.oauth.models import Account
from gateway.registry.model import ClientQuery, ClientType
from gateway.storage import open_store
from gateway.xml.clients import render_client
from tests import populations, storing


@pytest.fixture
def store(database_url):
    store = open_store(database_url)
    yield store
    store.close()


def account(name: str = "a") -> Account:
    return Account(client_id=f"id-{name}", name=name, secret_hash="sha256$" + "0" * 64, created_at=1)


def test_meta_round_trip(store):
    assert store.controls.get_meta("missing", 5) == 5
    store.controls.set_meta("clock", {"offset": 12.5})
    store.controls.set_meta("clock", {"offset": 13})
    assert store.controls.get_meta("clock") == {"offset": 13}


def test_accounts(store):
    created = store.accounts.create_account(account("ops"))
    assert created.key is not None
    with pytest.raises(ConflictError):
        store.accounts.create_account(account("ops"))
    assert store.accounts.get_account("id-ops").name == "ops"
    assert (
        store.accounts.find_account("ops").client_id
        == store.accounts.find_account("id-ops").client_id
        == "id-ops"
    )
    assert store.accounts.find_account("nobody") is None
    assert store.accounts.update_account("id-ops", permission="deny")
    assert store.accounts.get_account("id-ops").permission == "deny"
    assert not store.accounts.update_account("id-ghost", permission="deny")
    assert [a.name for a in store.accounts.list_accounts()] == ["ops"]


def test_token_cap_evicts_oldest_and_revocation(store):
    key = store.accounts.create_account(account()).key
    for i in range(35):
        storing.issue_token(store, key, f"h{i}", issued_at=100, expires_at=4000, cap=30)
    assert store.accounts.count_valid_tokens("id-a", now=200) == 30
    assert [store.accounts.find_token(f"h{i}")[3] for i in range(5)] == [True] * 5
    assert store.accounts.find_token("h5")[3] is False and store.accounts.find_token("h34")[3] is False
    assert store.accounts.find_token("nope") is None
    store.accounts.update_account("id-a", revoke_tokens=True, enabled=False)
    assert store.accounts.count_valid_tokens("id-a", now=200) == 0


def test_token_is_stored_only_for_the_secret_and_state_it_was_asked_with(store):
    """A token asked with a secret that was regenerated meanwhile, or for an account disabled meanwhile, is
    refused in the issuing transaction, so revoking every token cannot miss one being issued."""
    created = store.accounts.create_account(account())
    current = created.secret_hash
    assert storing.issue_token(
        store, created.key, "fresh", issued_at=100, expires_at=4000, cap=30, secret_hash=current
    )
    store.accounts.update_account("id-a", secret_hash="sha256$" + "1" * 64, revoke_tokens=True)
    assert not storing.issue_token(
        store, created.key, "stale", issued_at=101, expires_at=4000, cap=30, secret_hash=current
    )
    assert store.accounts.find_token("stale") is None
    assert store.accounts.find_token("fresh")[3] is True  # revoked by the regeneration
    renewed = "sha256$" + "1" * 64
    assert storing.issue_token(
        store, created.key, "renewed", issued_at=102, expires_at=4000, cap=30, secret_hash=renewed
    )
    store.accounts.update_account("id-a", enabled=False, revoke_tokens=True)
    assert not storing.issue_token(
        store, created.key, "disabled", issued_at=103, expires_at=4000, cap=30, secret_hash=renewed
    )
    assert store.accounts.find_token("disabled") is None
    assert store.accounts.count_valid_tokens("id-a", now=200) == 0


def test_expired_tokens_are_dropped_when_issuing(store):
    key = store.accounts.create_account(account()).key
    storing.issue_token(store, key, "old", issued_at=0, expires_at=10, cap=30)
    storing.issue_token(store, key, "new", issued_at=20, expires_at=3620, cap=30)
    assert store.accounts.find_token("old") is None
    assert store.accounts.count_valid_tokens("id-a", now=30) == 1


def test_parallel_token_issue_keeps_the_cap(store):
    key = store.accounts.create_account(account()).key

    def issue(i):
        storing.issue_token(store, key, f"p{i}", issued_at=100, expires_at=4000, cap=30)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(issue, range(80)))
    assert store.accounts.count_valid_tokens("id-a", now=200) == 30


def test_population_ids_order_and_fragments(store):
    clients = populations.clients()
    for client in clients:
        client.id = 0
    storing.replace_population(store, populations.appliances(), clients)
    assert [c.id for c in clients] == [1, 2, 3, 4, 5]
    everything = list(store.registry.iter_fragments(ClientQuery()))
    assert len(everything) == 5 and everything[0].startswith(b'<connected_representative id="1">')
    customers = list(
        store.registry.iter_fragments(
            ClientQuery(
                types=frozenset({ClientType.SUPPORT_CUSTOMER}), ids=(2, 3, 99), include_connections=True
            )
        )
    )
    assert len(customers) == 2 and all(b"<client_connections>" in f for f in customers)
    assert store.registry.list_client_summaries(ClientQuery(ids=(5,))) == [
        (5, "push_agent", populations.PRIMARY)
    ]
    assert store.registry.count_clients() == 5 and store.registry.count_clients(connected=False) == 0


def test_hydrated_clients_equal_what_was_written(store):
    written = populations.clients()
    storing.replace_population(store, populations.appliances(), written)
    read = store.registry.list_clients(ClientQuery(), with_events=True)
    for before, after in zip(written, read, strict=True):
        assert after.id == before.id and after.type is before.type
        assert after.connections == before.connections
        assert [(e.ts, e.text, e.kind) for e in after.events] == [
            (e.ts, e.text, e.kind) for e in before.events
        ]
        assert (
            after.rep == before.rep
            and after.lsid == before.lsid
            and after.non_interactive == before.non_interactive
        )
        assert render_client(after) == render_client(before)
    assert [a.id for a in store.registry.list_appliances()] == [populations.PRIMARY, populations.TRAFFIC]


def test_explicit_id_conflict_changes_nothing(store):
    storing.replace_population(store, populations.appliances(), populations.clients())
    clash = populations.clients()[:1]
    with pytest.raises(ConflictError):
        storing.insert_clients(store, clash)
    with pytest.raises(ConflictError):
        storing.replace_population(store, [], populations.clients() + populations.clients()[:1])
    assert store.registry.count_clients() == 5 and len(store.registry.list_appliances()) == 2


def test_new_ids_skip_connected_explicit_ids(store):
    storing.insert_clients(store, populations.clients()[:1])  # id 101 held
    fresh = populations.clients()[1:]
    for client in fresh:
        client.id = 0
    storing.insert_clients(store, fresh)
    assert sorted(c.id for c in fresh) == [1, 2, 3, 4]
    storing.clear_clients(store)
    assert store.registry.count_clients() == 0


def test_other_databases_are_refused_with_the_variable_named():
    with pytest.raises(ValueError, match="GATEWAY_DATABASE_URL"):
        open_store("mysql://root@localhost/gateway")


def test_a_dump_reads_one_snapshot_while_writers_commit(store, database_url):
    many = []
    for n in range(1200):  # more than one fetch of a server-side cursor
        client = populations.clients()[n % 5]
        client.id = 0
        many.append(client)
    storing.replace_population(store, populations.appliances(), many)
    dump = store.registry.iter_fragments(ClientQuery())
    first = next(dump)
    writer = open_store(database_url)
    try:
        late = populations.clients()[4]
        late.id = 0
        storing.insert_clients(writer, [late])
        storing.clear_clients(writer)
    finally:
        writer.close()
    rest = list(dump)
    assert 1 + len(rest) == 1200 and first.startswith(b'<connected_representative id="1">')
    assert store.registry.count_clients() == 0


def test_an_unfinished_dump_gives_its_connection_back(store):
    storing.replace_population(store, populations.appliances(), populations.clients())
    for _ in range(20):  # more than any pool holds
        dump = store.registry.iter_fragments(ClientQuery())
        next(dump)
        dump.close()
    assert len(list(store.registry.iter_fragments(ClientQuery()))) == 5
