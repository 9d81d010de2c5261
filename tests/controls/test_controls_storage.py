"""The storage contract of the controls, the same for every backend (the database_url fixture names the
engine)."""

from __future__ import annotations

import concurrent.futures

import pytest

from gateway.storage import open_store
from tests import storing


@pytest.fixture
def store(database_url):
    store = open_store(database_url)
    yield store
    store.close()


def test_every_change_bumps_the_controls_version(store):
    versions = [store.controls.controls_version()]
    rule = store.controls.add_fault_rule({"drop": True}, times=None, created_at=1.5)
    versions.append(store.controls.controls_version())
    store.controls.update_control("controls.clock", lambda value: {"offset": 5})
    versions.append(store.controls.controls_version())
    assert store.controls.delete_fault_rule(rule["id"]) and not store.controls.delete_fault_rule(rule["id"])
    versions.append(store.controls.controls_version())
    store.controls.clear_fault_rules()
    versions.append(store.controls.controls_version())
    assert versions == sorted(set(versions)) and len(versions) == 5
    version, rules, values = store.controls.load_controls(["controls.clock", "missing"])
    assert (
        version == versions[-1]
        and rules == []
        and values == {"controls.clock": {"offset": 5}, "missing": None}
    )
    assert store.controls.update_control("controls.clock", lambda value: None) is None
    assert store.controls.load_controls(["controls.clock"])[2] == {"controls.clock": None}


def test_fault_hits_are_counted_and_capped(store):
    rule = store.controls.add_fault_rule({"error": {"status": 503}}, times=2, created_at=0.0)
    assert rule == {
        "id": rule["id"],
        "spec": {"error": {"status": 503}},
        "times": 2,
        "matched": 0,
        "fired": 0,
        "created_at": 0.0,
    }
    version = store.controls.controls_version()
    fired = [store.controls.hit_fault_rule(rule["id"], lambda n: n % 2 == 0) for _ in range(6)]
    assert fired == [None, 2, None, 4, None, None]
    [row] = store.controls.list_fault_rules()
    assert (row["matched"], row["fired"]) == (6, 2)
    assert store.controls.controls_version() == version + 1, "spending the rule tells every worker"
    assert store.controls.hit_fault_rule(12345, lambda n: True) is None


def test_fault_hits_are_atomic_across_threads(store):
    rule = store.controls.add_fault_rule({"drop": True}, times=None, created_at=0.0)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        fired = list(
            pool.map(lambda _: store.controls.hit_fault_rule(rule["id"], lambda n: n % 3 == 0), range(60))
        )
    assert sorted(n for n in fired if n) == list(range(3, 61, 3))


def test_rate_counters_are_atomic_and_windowed(store):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        counts = list(
            pool.map(
                lambda _: store.controls.hit_rate_limits("acct", [("second", 100), ("hour", 0)]), range(40)
            )
        )
    assert sorted(c[0] for c in counts) == list(range(1, 41))
    assert store.controls.hit_rate_limits("acct", [("second", 101), ("hour", 0)]) == [1, 41], (
        "a new second starts at 1"
    )
    assert store.controls.hit_rate_limits("other", [("second", 101)]) == [1]
    store.controls.clear_rate_limits()
    assert store.controls.hit_rate_limits("acct", [("second", 101), ("hour", 0)]) == [1, 1]


def test_journal_round_trip_filters_and_bound(store):
    made = [
        {
            "ts": 100.0 + i,
            "request_id": f"r{i}",
            "face": "command",
            "method": "GET",
            "path": "/api/command",
            "action": "a" if i % 2 else "b",
            "account": "x" if i < 3 else None,
            "params": {"i": str(i)},
            "status": 200 if i else None,
            "duration_ms": 1.5,
            "fault": None,
        }
        for i in range(6)
    ]
    for batch in (made[:1], made[1:4], [], made[4:]):  # one, several and none at a time
        store.journal.append_journal(batch, keep=4)
    entries = store.journal.query_journal()
    assert [e["request_id"] for e in entries] == ["r2", "r3", "r4", "r5"]
    assert entries[0]["params"] == {"i": "2"} and entries[0]["ts"] == 102.0
    assert [e["request_id"] for e in store.journal.query_journal(action="a")] == ["r3", "r5"]
    assert [e["request_id"] for e in store.journal.query_journal(account="x")] == ["r2"]
    assert [e["request_id"] for e in store.journal.query_journal(since=104.0)] == ["r4", "r5"]
    assert [e["request_id"] for e in store.journal.query_journal(after=entries[1]["seq"], limit=1)] == ["r4"]
    assert store.journal.clear_journal() == 4 and store.journal.query_journal() == []


def test_connected_clients_by_type(store):
    from tests import populations

    storing.replace_population(store, populations.appliances(), populations.clients())
    assert store.registry.count_clients_by_type() == {
        "representative": 1,
        "support_customer": 2,
        "presentation_attendee": 1,
        "push_agent": 1,
    }


def _stored_rows(store) -> list[dict]:
    from sqlalchemy import select

    from gateway.storage import tables as t

    with store.journal.db.read() as tx:
        return [dict(row._mapping) for row in tx.execute(select(t.journal).order_by(t.journal.c.seq))]


def test_entries_numbered_when_handed_over_are_stored_as_entries_numbered_on_insert(store):
    """The journal writer's entries carry their seq (gateway.storage.pending) and go in one statement per
    set of columns; their rows, running sizes included, are those of entries numbered as they are
    inserted, and the byte budget drops the oldest of them the same way."""
    made = []
    for i in range(7):
        entry = {
            "ts": 100.0 + i,
            "request_id": f"r{i}",
            "face": "command",
            "method": "GET",
            "path": "/api/command",
            "action": "get_connected_clients",
            "account": "x",
            "params": {"id": str(i) * (i + 1)},
            "status": 200,
            "duration_ms": 1.5,
            "fault": None,
        }
        if i % 3:  # entries with and without some columns, in one batch
            entry["headers"] = {"User-Agent": "é" * i} if i % 3 == 1 else {}
            entry["error"] = "bad" if i == 5 else None
        made.append(entry)
    store.journal.append_journal(made, keep=100)
    on_insert = _stored_rows(store)
    store.journal.clear_journal()
    store.journal.append_journal([{**entry, "seq": 1000 + i} for i, entry in enumerate(made)], keep=100)
    numbered = _stored_rows(store)
    assert [row.pop("seq") for row in numbered] == list(range(1000, 1007))
    for row in on_insert:
        del row["seq"]
    assert numbered == on_insert and numbered[-1]["bytes_upto"] > numbered[0]["bytes_upto"] > 0

    # a budget of the last three entries' bytes keeps those three
    last = numbered[-1]["bytes_upto"]
    budget = last - numbered[-4]["bytes_upto"]
    more = [{**entry, "seq": 2000 + i} for i, entry in enumerate(made)]
    store.journal.append_journal(more, keep=10_000, budget=budget)  # only the budget prunes
    kept = _stored_rows(store)
    assert [row["seq"] for row in kept] == [2004, 2005, 2006]
    assert kept[-1]["bytes_upto"] - kept[0]["bytes_upto"] <= budget
