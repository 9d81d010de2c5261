"""On SQLite the journal is written behind the answers (gateway.controls.journal, gateway.storage.pending):
a request hands its entry over and goes on; a read of the journal - in this process or another - waits for
every entry recorded before it began; a clean exit writes what is left; a killed process is not waited
for; and a process holds at most ``pending_max`` unwritten entries.

Each test holds the database's write lock from another connection, so nothing can be written meanwhile."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from gateway.controls import journal as journal_module
from gateway.controls.journal import Journal
from gateway.storage import open_store
from tests.controls.test_journal_groups import entry, until


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite) -> str:
    path = tmp_path / "gateway.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


def board_folder(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///") + "-journal-pending")


def process_files(url: str) -> list[str]:
    """The board's per-process files (beside them, ``seq`` holds the last number given out)."""
    return sorted(p.name for p in board_folder(url).iterdir() if p.name.isdigit())


@contextmanager
def journal_on(url: str, **options) -> Iterator[Journal]:
    store = open_store(url)
    board = store.journal.pending_board()
    assert board is not None, "SQLite writes the journal behind the answers"
    try:
        yield Journal(store.journal, enabled=True, keep=1000, board=board, **options)
    finally:
        store.close()


@contextmanager
def write_lock(url: str) -> Iterator[None]:
    other = open_store(url)
    try:
        with other.database.write():
            yield
    finally:
        other.close()


def in_thread(call) -> tuple[threading.Thread, dict]:
    """Run ``call`` on a thread; (the thread, {"result": what it returned} once it has)."""
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(result=call()), daemon=True)
    thread.start()
    return thread, done


def written(url: str) -> list[str]:
    """The request ids a fresh reader finds (no settling: what is committed)."""
    store = open_store(url)
    try:
        return sorted(e["request_id"] for e in store.journal.query_journal(limit=100))
    finally:
        store.close()


def test_entries_are_handed_over_and_a_read_waits_for_them(sqlite_url):
    with journal_on(sqlite_url) as journal:
        with write_lock(sqlite_url):
            for i in range(6):
                journal.record(entry(i))  # returns at once: nothing can be written now
            assert written(sqlite_url) == []
            reader, done = in_thread(journal.count)
            reader.join(0.3)
            assert reader.is_alive(), "a read answered before the entries recorded before it were written"
        reader.join(30)
        assert done["result"]["count"] == 6
        assert written(sqlite_url) == [f"r{i}" for i in range(6)]


def test_a_process_holds_at_most_pending_max_unwritten_entries(sqlite_url):
    with journal_on(sqlite_url, pending_max=3) as journal:
        with write_lock(sqlite_url):
            journal.record(entry(0))
            until(lambda: journal.pending == 0, "the writer took the first entry")  # and waits for the lock
            for i in range(1, 4):
                journal.record(entry(i))
            fourth, _ = in_thread(lambda: journal.record(entry(4)))
            fourth.join(0.3)
            assert fourth.is_alive(), "a fourth unwritten entry was taken"
        fourth.join(30)
        assert journal.count()["count"] == 5


RECORDER = """
import sys
from gateway.controls import journal as journal_module
from gateway.controls.journal import Journal
from gateway.storage import open_store
from tests.controls.test_journal_groups import entry

import gateway.controls.journal
if len(sys.argv) > 3:
    gateway.controls.journal.GATHER = float(sys.argv[3])
store = open_store(sys.argv[1])
journal = Journal(store.journal, enabled=True, keep=1000, board=store.journal.pending_board())
journal.record(entry(int(sys.argv[2])))
print("recorded", flush=True)
sys.stdin.read()  # until the test closes it: then a clean exit
"""


@contextmanager
def recorder(url: str, index: int, gather: float | None = None) -> Iterator[subprocess.Popen]:
    """Another process that records entry ``index`` (its writer gathering for ``gather`` seconds) and exits
    cleanly when its stdin is closed."""
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", RECORDER, url, str(index), *([] if gather is None else [str(gather)])],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "recorded"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_read_waits_for_what_other_processes_recorded_and_a_clean_exit_writes_it(sqlite_url):
    with journal_on(sqlite_url) as journal, ExitStack() as locked:
        locked.enter_context(write_lock(sqlite_url))
        with recorder(sqlite_url, 7) as other:
            assert process_files(sqlite_url) == [str(other.pid)]
            reader, done = in_thread(journal.count)
            reader.join(0.3)
            assert reader.is_alive(), "a read did not wait for another process's entry"
            assert other.stdin is not None
            other.stdin.close()  # a clean exit: it writes its entry first, once the lock is free
            exited, _ = in_thread(other.wait)
            exited.join(0.3)
            assert exited.is_alive(), "the process ended before its entry was written"
            locked.close()  # the lock is free: the other process writes its entry and ends
            exited.join(30)
            reader.join(30)
            assert other.returncode == 0
    assert done["result"]["count"] == 1 and written(sqlite_url) == ["r7"]
    assert process_files(sqlite_url) == [], "a process that ended cleanly left its file"


def test_entries_are_listed_in_the_order_they_were_handed_over_whichever_process_writes_first(sqlite_url):
    """Another process hands its entry over first and is stopped before it can write it; this process's
    later entry is written first. The journal still lists them in hand-over order (the call answered first
    comes first), and a reader that saw the later one waited for the earlier one."""
    with journal_on(sqlite_url) as journal:
        with ExitStack() as locked:
            locked.enter_context(write_lock(sqlite_url))
            with recorder(sqlite_url, 7) as other:
                os.kill(other.pid, signal.SIGSTOP)
                try:
                    locked.close()
                    journal.record(entry(8))
                    until(lambda: written(sqlite_url) == ["r8"], "this process wrote its later entry first")
                finally:
                    os.kill(other.pid, signal.SIGCONT)
                entries = journal.query()["entries"]
                assert other.stdin is not None
                other.stdin.close()
                assert other.wait(30) == 0
        assert [e["request_id"] for e in entries] == ["r7", "r8"]
        assert entries[0]["seq"] < entries[1]["seq"]


def test_a_read_wakes_the_writers_it_waits_for_and_close_wakes_its_own(sqlite_url, monkeypatch):
    """Writers that would gather for ten minutes: a read still finds both entries (it wakes this process's
    writer and the other's instead of waiting SETTLE_MAX for them), and close writes at once."""
    monkeypatch.setattr(journal_module, "GATHER", 600.0)
    with journal_on(sqlite_url) as journal:
        with recorder(sqlite_url, 5, gather=600.0) as other:
            journal.record(entry(6))
            reader, done = in_thread(journal.count)
            reader.join(30)
            assert done["result"]["count"] == 2, "the read found both entries written"
            assert other.stdin is not None
            other.stdin.close()
            assert other.wait(30) == 0
        journal.record(entry(7))
        closing, _ = in_thread(journal.close)
        closing.join(30)
        assert written(sqlite_url) == ["r5", "r6", "r7"], "close woke its writer, which wrote the last entry"


def test_a_killed_process_is_not_waited_for(sqlite_url):
    with journal_on(sqlite_url) as journal:
        with write_lock(sqlite_url), recorder(sqlite_url, 8) as other:
            os.kill(other.pid, signal.SIGKILL)
            other.wait()
        # its entry is lost (it was never written); a read does not wait for it, and removes its file
        reader, done = in_thread(journal.count)
        reader.join(30)
        assert not reader.is_alive() and done["result"]["count"] == 0
        assert process_files(sqlite_url) == []


def test_a_failed_write_is_given_up_and_the_writer_goes_on(sqlite_url, caplog):
    with journal_on(sqlite_url) as journal:
        journal.record(entry(0, no_such_column=1))  # its batch cannot be written
        assert journal.count()["count"] == 0, "a read waited for the failed write, then went on"
        assert "journal entries could not be written" in caplog.text
        journal.record(entry(1))
        assert journal.count()["count"] == 1
        assert written(sqlite_url) == ["r1"]


def test_after_close_an_entry_is_written_before_record_returns(sqlite_url):
    """A process that is ending (its journal closed) writes a late request's entry at once."""
    with journal_on(sqlite_url) as journal:
        journal.record(entry(0))
        journal.close()
        assert written(sqlite_url) == ["r0"], "close wrote what was held"
        journal.record(entry(1))
        assert written(sqlite_url) == ["r0", "r1"], "written before record returned"
        assert journal.count()["count"] == 2
