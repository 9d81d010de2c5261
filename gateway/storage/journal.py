"""The request journal's rows (gateway.controls.journal): one entry per API call, the newest ``keep``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select

from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.database import Database


def _entry(row: Any) -> dict[str, Any]:
    entry = dict(row._mapping)
    entry["params"] = jsontext.loads(entry["params"]) if entry["params"] else {}
    return entry


class JournalRepository:
    def __init__(self, db: Database):
        self.db = db

    def append_journal(self, entry: dict[str, Any], keep: int) -> None:
        """Add one entry and drop those older than the newest ``keep`` (once per request: on the fast path,
        committed without waiting for the disk: a killed worker loses nothing, a power cut the last few)."""
        values = {**entry, "params": jsontext.dumps(entry.get("params") or {})}
        names = tuple(sorted(values))
        prepared = self.db.prepare(
            ("journal", names),
            lambda: (
                insert(t.journal).values({name: bindparam(name) for name in names}).returning(t.journal.c.seq)
            ),
        )
        with self.db.guard():
            (seq,) = self.db.fastpath.write(prepared, values)
            if seq > keep:
                prune = self.db.prepare(
                    "journal_prune", lambda: delete(t.journal).where(t.journal.c.seq <= bindparam("cut"))
                )
                self.db.fastpath.write(prune, {"cut": seq - keep})

    def query_journal(
        self,
        *,
        action: str | None = None,
        account: str | None = None,
        face: str | None = None,
        status: int | None = None,
        since: float | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries in the order they were written, after the entry numbered ``after``."""
        j = t.journal
        cond = [j.c.seq > after]
        for column, value in (
            (j.c.action, action),
            (j.c.account, account),
            (j.c.face, face),
            (j.c.status, status),
        ):
            if value is not None:
                cond.append(column == value)
        if since is not None:
            cond.append(j.c.ts >= since)
        with self.db.read() as tx:
            found = tx.execute(select(j).where(and_(*cond)).order_by(j.c.seq).limit(limit))
            return [_entry(r) for r in found]

    def clear_journal(self) -> int:
        with self.db.write() as tx:
            return tx.execute(delete(t.journal)).rowcount
