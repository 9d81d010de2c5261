"""The journal writes entries in groups (gateway.controls.journal.Journal.record): entries recorded while a
write is in progress are written together by the next write, and every caller returns only once its own
entry is committed - so a request is still journaled before its answer's last byte leaves."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from gateway.controls.journal import Journal
from gateway.storage import open_store


def entry(index: int, **extra) -> dict:
    return {
        "ts": 100.0 + index,
        "request_id": f"r{index}",
        "face": "command",
        "method": "GET",
        "path": "/api/command",
        "action": "get_api_info",
        "account": "reader",
        "params": {"action": "get_api_info"},
        "status": 200,
        "duration_ms": 1.0,
        "fault": None,
        **extra,
    }


def until(condition, message: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)


@contextmanager
def held_write(database_url: str, entries: list[dict]) -> Iterator[tuple]:
    """Record ``entries`` on threads while another connection holds the journal's write lock: the first
    caller writes (and waits for the lock), the others gather behind it. Inside, the lock is held; on
    leaving, it is released and every caller has returned. Yields (journal, store, outcomes):
    outcomes maps each request id to None (returned) or the error its record() raised."""
    store, other = open_store(database_url), open_store(database_url)
    journal = Journal(store.journal, enabled=True, keep=1000)
    outcomes: dict[str, BaseException | None] = {}

    def record(item: dict) -> None:
        try:
            journal.record(item)
            outcomes[item["request_id"]] = None
        except Exception as error:  # noqa: BLE001 - whatever the engine raised
            outcomes[item["request_id"]] = error

    threads = [threading.Thread(target=record, args=(item,)) for item in entries]
    try:
        with other.database.write() as tx:
            if other.database.dialect.name == "postgresql":  # on SQLite the single writer is held already
                tx.conn.execute(text("LOCK TABLE journal IN EXCLUSIVE MODE"))
            threads[0].start()
            until(lambda: journal.gathered == 0 and journal.writing, "the first write did not start")
            for thread in threads[1:]:
                thread.start()
            until(
                lambda: journal.gathered == len(entries) - 1,
                "the entries did not gather behind the write in progress",
            )
            yield journal, store, outcomes
        for thread in threads:
            thread.join(60)
    finally:
        store.close()
        other.close()


def test_entries_recorded_during_a_write_go_together_and_each_caller_waits_for_its_own(database_url):
    with held_write(database_url, [entry(i) for i in range(6)]) as (journal, store, outcomes):
        assert outcomes == {} and store.journal.count_journal() == 0, "a caller returned before its commit"
    assert outcomes == {f"r{i}": None for i in range(6)}
    assert journal.gathered == 0
    # a fresh reader sees every entry whose caller returned
    assert sorted(e["request_id"] for e in other_reader(database_url)) == [f"r{i}" for i in range(6)]


def test_a_failed_group_write_is_raised_to_each_of_its_callers_and_the_next_write_proceeds(database_url):
    bad = entry(2, no_such_column=1)  # the group of entries 1-3 cannot be written
    with held_write(database_url, [entry(0), entry(1), bad, entry(3)]) as (journal, _store, outcomes):
        pass
    assert outcomes["r0"] is None
    assert all(outcomes[r] is not None for r in ("r1", "r2", "r3")), outcomes
    assert len({id(outcomes[r]) for r in ("r1", "r2", "r3")}) == 1, "one write, one error"
    journal.record(entry(4))  # the journal writes on
    assert sorted(e["request_id"] for e in other_reader(database_url)) == ["r0", "r4"]


def other_reader(database_url: str) -> list[dict]:
    store = open_store(database_url)
    try:
        return store.journal.query_journal(limit=100)
    finally:
        store.close()
