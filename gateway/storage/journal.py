"""The request journal's rows (gateway.controls.journal): one entry per API call, the newest ``keep``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, or_, select

from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.database import Database
from gateway.storage.fastpath import Statements
from gateway.storage.pending import FileBoard, LocalBoard


def _entry(row: Any) -> dict[str, Any]:
    entry = dict(row._mapping)
    entry.pop("bytes_upto", None)
    entry["params"] = jsontext.loads(entry["params"]) if entry["params"] else {}
    entry["headers"] = jsontext.loads(entry["headers"]) if entry.get("headers") else {}
    return entry


def _conditions(
    *,
    action: str | None = None,
    account: str | None = None,
    face: str | None = None,
    status: int | None = None,
    method: str | None = None,
    path: str | None = None,
    request_id: str | None = None,
    fault: str | None = None,
    error: str | None = None,
    has_error: bool | None = None,
    since: float | None = None,
    after: int = 0,
) -> list[ColumnElement[bool]]:
    """The WHERE clause of a journal filter (gateway.controls.journal.FILTERS names them)."""
    j = t.journal
    cond: list[ColumnElement[bool]] = [j.c.seq > after] if after else []
    for column, value in (
        (j.c.action, action),
        (j.c.account, account),
        (j.c.face, face),
        (j.c.status, status),
        (j.c.method, method),
        (j.c.path, path),
        (j.c.request_id, request_id),
        (j.c.fault, fault),
    ):
        if value is not None:
            cond.append(column == value)
    if error is not None:
        # a substring; autoescape: % and _ in the text are matched as themselves
        cond.append(j.c.error.contains(error, autoescape=True))
    if has_error is not None:
        cond.append(j.c.error.is_not(None) if has_error else j.c.error.is_(None))
    if since is not None:
        cond.append(j.c.ts >= since)
    return cond


def _insert(names: tuple[str, ...]) -> Any:
    """One entry, numbered as it is inserted: returns its ``seq`` and running size."""
    j = t.journal
    return (
        insert(j)
        .values(
            {
                **{name: bindparam(name) for name in names},
                # the running size: the last written entry's (the highest; an entry numbered before
                # another may be written after it), plus this one's (one statement, so writers that take
                # turns on the database's write lock never count the same bytes twice)
                "bytes_upto": func.coalesce(select(func.max(j.c.bytes_upto)).scalar_subquery(), 0)
                + bindparam("entry_size"),
            }
        )
        .returning(j.c.seq, j.c.bytes_upto)
    )


def _insert_numbered(names: tuple[str, ...]) -> Any:
    """Entries numbered before (their ``seq``), with their running size worked out by the writer."""
    return insert(t.journal).values({name: bindparam(name) for name in (*names, "bytes_upto")})


def _stored(entry: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """An entry's column values, and its size: its text as stored, and a fixed share for the row and its
    index entries."""
    values = {**entry, "params": jsontext.dumps(entry.get("params") or {})}
    if "headers" in values:
        values["headers"] = jsontext.dumps(values["headers"]) if values["headers"] else None
    size = 64
    for name, value in values.items():
        if value is not None and name != "seq":
            size += len(value) if type(value) is str else len(str(value))
    return values, size


def prune_every(keep: int) -> int:
    """How many entries past ``keep`` the journal may hold before they are pruned: 1 for a small journal,
    at most 64 (a 10,000-entry journal holds up to 10,063 between prunes)."""
    return max(1, min(64, keep // 128))


class JournalRepository:
    def __init__(self, db: Database):
        self.db = db

    def on_close(self, callback: Callable[[], None]) -> None:
        self.db.on_close(callback)

    def pending_board(self) -> FileBoard | LocalBoard | None:
        """Where the processes writing this database post the journal entries they have not written yet
        (gateway.storage.pending), so the journal can be written behind the answers; None where it cannot:
        on PostgreSQL, nodes on other machines share the database but could not share the board."""
        if self.db.dialect.name != "sqlite":
            return None
        database = self.db.engine.url.database
        if not database or database == ":memory:":
            return LocalBoard()
        return FileBoard(Path(database + "-journal-pending"))

    def last_journal_seq(self) -> int:
        with self.db.read() as tx:
            return int(tx.execute(select(func.coalesce(func.max(t.journal.c.seq), 0))).scalar_one())

    def append_journal(self, entries: list[dict[str, Any]], keep: int, budget: int | None = None) -> None:
        """Add entries, in one transaction, and drop those older than the newest ``keep`` (every
        ``prune_every(keep)`` entries) and the oldest past ``budget`` bytes in all (on the fast path,
        committed without waiting for the disk: a killed worker loses nothing, a power cut the last few).
        An entry that carries its ``seq`` (numbered when it was handed over: gateway.storage.pending) keeps
        it; the others are numbered as they are inserted."""
        if not entries:
            return
        j = t.journal
        with self.db.guard(), self.db.fastpath.transaction() as tx:
            if all("seq" in entry for entry in entries):
                seqs, total = self._insert_numbered(tx, entries)
            else:
                seqs, total = self._insert_one_by_one(tx, entries)
            seq = seqs[-1]
            floor = total - budget if budget is not None else 0
            # Entries past ``keep`` go a batch at a time, when these entries pass a multiple of the step
            # (deleting one row per request cost as much as the insert); entries past the byte budget go at
            # once, since one entry can be large.
            step = prune_every(keep)
            if floor > 0 or (seq > keep and seq // step != (seqs[0] - 1) // step):
                prune = self.db.prepare(
                    "journal_prune",
                    lambda: delete(j).where(
                        or_(j.c.seq <= bindparam("cut"), j.c.bytes_upto <= bindparam("floor"))
                    ),
                )
                tx.one(prune, {"cut": seq - keep, "floor": floor})

    def _insert_one_by_one(self, tx: Statements, entries: list[dict[str, Any]]) -> tuple[list[int], int]:
        """Entries numbered as they are inserted: their ``seq`` values and the journal's running size."""
        seqs = []
        total = 0
        for entry in entries:
            values, size = _stored(entry)
            names = tuple(sorted(values))
            prepared = self.db.prepare(("journal", names), partial(_insert, names))
            seq, total = tx.one(prepared, {**values, "entry_size": size})
            seqs.append(seq)
        return seqs, total

    def _insert_numbered(self, tx: Statements, entries: list[dict[str, Any]]) -> tuple[list[int], int]:
        """Entries numbered when they were handed over, in one statement per set of columns (a statement per
        entry cost a third more): their ``seq`` values and the journal's running size. The running size
        starts from the highest written, read in the same transaction: it holds the write lock."""
        j = t.journal
        top = self.db.prepare("journal_top", lambda: select(func.coalesce(func.max(j.c.bytes_upto), 0)))
        total = int(tx.one(top, {})[0])
        rows = []
        for entry in entries:
            values, size = _stored(entry)
            total += size
            rows.append((tuple(sorted(values)), {**values, "bytes_upto": total}))
        for names, group in groupby(rows, key=itemgetter(0)):
            prepared = self.db.prepare(("journal_numbered", names), partial(_insert_numbered, names))
            tx.many(prepared, [values for _, values in group])
        return [entry["seq"] for entry in entries], total

    def query_journal(self, *, limit: int = 100, tail: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """Matching entries in the order they were written, after the entry numbered ``after``: the oldest
        ``limit`` of them, or with ``tail`` the newest ``limit``."""
        j = t.journal
        order = j.c.seq.desc() if tail else j.c.seq
        with self.db.read() as tx:
            found = tx.execute(
                select(j).where(and_(True, *_conditions(**filters))).order_by(order).limit(limit)
            )
            entries = [_entry(r) for r in found]
        return entries[::-1] if tail else entries

    def count_journal(self, **filters: Any) -> int:
        with self.db.read() as tx:
            count = tx.execute(
                select(func.count()).select_from(t.journal).where(and_(True, *_conditions(**filters)))
            ).scalar_one()
            return int(count)

    def clear_journal(self) -> int:
        with self.db.write() as tx:
            return tx.execute(delete(t.journal)).rowcount
