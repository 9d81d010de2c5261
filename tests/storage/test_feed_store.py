"""The store's feed writes: one transaction per call, the event window, the change log, reset."""

from __future__ import annotations

import concurrent.futures

import pytest

from gateway.errors import ConflictError, NotFoundError
from gateway.registry.model import ClientQuery, ClientType, Event
from gateway.registry.operations import AppendEvents, Connect, Disconnect, Update
from gateway.storage import open_store
from gateway.storage.migrate import current_revision, upgrade
from gateway.storage.registry import recent_events
from gateway.xml.clients import render_client
from tests import populations, storing
from tests.xmlutil import parse

NOW = populations.T0


@pytest.fixture
def store(database_url):
    store = open_store(database_url)
    yield store
    store.close()


def apply(store, *ops, now=NOW, purge_before=0, keep_changes=0):
    """The feed's write use case on ``store`` at ``now``."""
    return storing.registry(store, now, purge_before=purge_before, keep_changes=keep_changes).apply(list(ops))


def jumpoint(client_id: int = 0):
    client = populations.clients()[4]
    client.id = client_id
    client.events = client.events[:1]
    return client


def test_parallel_appends_keep_exactly_the_last_20(store):
    [client] = apply(store, Connect(jumpoint()))

    def append(worker: int) -> None:
        for i in range(6):
            apply(
                store,
                AppendEvents(client.id, [Event(NOW + i, f"w{worker}-{i}-{k}", "info") for k in range(3)]),
            )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(8)))
    [stored] = store.registry.list_clients(ClientQuery(), with_events=True)
    assert len(stored.events) == 1 + 8 * 6 * 3
    fragment = next(store.registry.iter_fragments(ClientQuery(include_connections=True)))
    shown = [
        e.text
        for e in parse(b'<r xmlns="urn:x">' + fragment + b"</r>")[0].find(
            "{urn:x}client_connections/{urn:x}event_log"
        )
    ]
    assert shown == [e.text for e in stored.events[-20:]], "the XML face holds the newest 20, in append order"


def _shown_events(store, client_id: int) -> list[str]:
    """The event log of a client's cached XML element (connected or not), in order."""
    with store.database.read() as tx:
        from sqlalchemy import select

        from gateway.storage import tables as t

        full = tx.execute(
            select(t.clients.c.xml_full)
            .where(t.clients.c.id == client_id)
            .order_by(t.clients.c.key.desc())
            .limit(1)
        ).scalar_one()
    return [
        e.text
        for e in parse(b'<r xmlns="urn:x">' + bytes(full) + b"</r>")[0].find(
            "{urn:x}client_connections/{urn:x}event_log"
        )
    ]


def test_appends_of_any_size_keep_the_newest_20_in_order(store):
    """An append reads only the old events that stay in the log (20 minus the new ones); whatever the sizes,
    the element shows the newest 20 of the whole history."""
    [client] = apply(store, Connect(jumpoint()))
    history = [e.text for e in client.events]
    for step, size in enumerate([5, 19, 1, 20, 25, 3, 0, 40]):
        new = [Event(NOW + step, f"s{step}-{k}", "info") for k in range(size)]
        if new:
            apply(store, AppendEvents(client.id, new))
            history += [e.text for e in new]
        else:
            apply(store, Update(client.id, {"hostname": f"renamed-{step}"}))
        assert _shown_events(store, client.id) == history[-20:], f"after appending {size}"
    apply(store, Disconnect(client.id, reason="end", ts=NOW + 99))
    shown = _shown_events(store, client.id)
    assert shown[:-1] == history[-19:] and len(shown) == 20, (
        "a disconnect keeps 19 old events and adds its own"
    )


def test_the_last_20_are_read_through_the_index(store):
    statement = recent_events(1).compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}"))
            assert "ix_events_client_seq" in plan and "TEMP B-TREE" not in plan, plan
        else:  # an empty table would be scanned; ask whether the index can serve the query without a sort
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}"))
            assert "ix_events_client_seq" in plan and "Sort" not in plan, plan


def test_errors_name_the_failing_operation_and_roll_everything_back(store):
    apply(store, Connect(jumpoint(7)))
    before = (store.registry.count_clients(), len(store.changes.changes_after(0)))
    with pytest.raises(NotFoundError) as missing:
        apply(store, Connect(jumpoint()), AppendEvents(7, [Event(NOW, "x")]), Disconnect(8, ts=NOW))
    assert missing.value.operation == 2 and missing.value.details == {"field": "id"}
    with pytest.raises(ConflictError) as clash:
        apply(store, Connect(jumpoint(7)))
    assert clash.value.operation == 0
    assert (store.registry.count_clients(), len(store.changes.changes_after(0))) == before


def test_update_rerenders_and_records_the_changed_fields(store):
    [rep] = apply(store, Connect(populations.clients()[0]))
    apply(
        store,
        Update(rep.id, {"representative": {"private_display_name": "Jo <new>"}, "timezone_offset": 3600}),
    )
    [stored] = store.registry.list_clients(ClientQuery(types=frozenset({ClientType.REPRESENTATIVE})))
    assert stored.rep.private_display_name == "Jo <new>" and stored.timezone_offset == 3600
    assert render_client(stored)[0] == next(store.registry.iter_fragments(ClientQuery()))
    last = store.changes.changes_after(0)[-1]
    assert last.kind == "update" and last.payload["fields"] == ["representative", "timezone_offset"]


def test_purge_and_change_log_trimming(store):
    apply(store, Connect(jumpoint(1)), Connect(jumpoint(2)))
    apply(store, Disconnect(1, "gone", "server", NOW))
    apply(store, AppendEvents(2, [Event(NOW, "x")]), purge_before=NOW, keep_changes=2)
    assert store.registry.count_clients(connected=False) == 1, "disconnected at NOW is not older than NOW"
    assert [c.kind for c in store.changes.changes_after(0)] == ["disconnect", "event"]
    apply(store, AppendEvents(2, [Event(NOW, "y")]), purge_before=NOW + 1)
    assert store.registry.count_clients(connected=False) == 0


def test_reset_restarts_ids_and_the_log_but_seq_keeps_growing(store):
    apply(store, Connect(jumpoint()), Connect(jumpoint()))
    last = store.changes.changes_after(0)[-1].seq
    clients = populations.clients()
    registry = storing.registry(store, NOW)
    registry.reset(registry.prepare(populations.appliances(), clients), note={"fixture": "small"})
    changes = store.changes.changes_after(0)
    assert [(c.kind, c.payload) for c in changes] == [("reset", {"fixture": "small"})] and changes[
        0
    ].seq > last
    assert [c.id for c in store.registry.list_clients(ClientQuery())] == [101, 102, 103, 104, 105]
    [fresh] = apply(store, Connect(jumpoint()))
    assert fresh.id == 106, "new ids continue after the largest loaded"


def test_migration_0003_goes_down_and_up(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    from alembic import command

    from gateway.storage.migrate import _config, head_revision

    upgrade(store)
    assert current_revision(store) == head_revision()

    config = _config()
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert current_revision(store) == "0002"
    upgrade(store)
    apply(store, Connect(jumpoint()))
    assert store.registry.count_clients() == 1
    store.close()
