"""The request journal's rows (gateway.controls.journal): one entry per API call, the newest ``keep``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select

from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.database import Database


def _entry(row: Any) -> dict[str, Any]:
    entry = dict(row._mapping)
    entry.pop("bytes_upto", None)
    entry["params"] = jsontext.loads(entry["params"]) if entry["params"] else {}
    return entry


class JournalRepository:
    def __init__(self, db: Database):
        self.db = db

    def append_journal(self, entry: dict[str, Any], keep: int, budget: int | None = None) -> None:
        """Add one entry and drop those older than the newest ``keep``, and the oldest past ``budget`` bytes
        in all (once per request: on the fast path, committed without waiting for the disk: a killed
        worker loses nothing, a power cut the last few)."""
        values = {**entry, "params": jsontext.dumps(entry.get("params") or {})}
        names = tuple(sorted(values))
        # The entry's size: its text as stored, and a fixed share for the row and its index entries.
        size = 64 + sum(len(str(value)) for value in values.values() if value is not None)
        j = t.journal
        prepared = self.db.prepare(
            ("journal", names),
            lambda: (
                insert(j)
                .values(
                    {
                        **{name: bindparam(name) for name in names},
                        # the running size: the newest entry's, plus this one's (one statement, so writers
                        # that take turns on the database's write lock never count the same bytes twice)
                        "bytes_upto": func.coalesce(
                            select(j.c.bytes_upto).order_by(j.c.seq.desc()).limit(1).scalar_subquery(), 0
                        )
                        + bindparam("entry_size"),
                    }
                )
                .returning(j.c.seq, j.c.bytes_upto)
            ),
        )
        with self.db.guard():
            seq, total = self.db.fastpath.write(prepared, {**values, "entry_size": size})
            floor = total - budget if budget is not None else 0
            if seq > keep or floor > 0:
                prune = self.db.prepare(
                    "journal_prune",
                    lambda: delete(j).where(
                        or_(j.c.seq <= bindparam("cut"), j.c.bytes_upto <= bindparam("floor"))
                    ),
                )
                self.db.fastpath.write(prune, {"cut": seq - keep, "floor": floor})

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
