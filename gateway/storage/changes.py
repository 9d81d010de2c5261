"""The change log (what live event streams read) and the shared change counters (what workers read once per
request to know whether their caches are stale; see gateway.versions and gateway.versions)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, literal, select

from gateway.registry.model import Change, NewChange
from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.database import Database, Tx


class ChangeRows:
    """The change log inside a write transaction."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx):
        self.tx = tx

    def append(self, changes: Sequence[NewChange], keep: int = 0) -> None:
        """Append changes with seqs from the "change_seq" counter (its row lock orders concurrent
        writers, so seq order is commit order); with ``keep``, drop all but the newest ``keep``."""
        if not changes:
            return
        seqs = self.tx.next_values("change_seq", len(changes))
        self.tx.bulk_insert_rows(
            t.changes,
            ("seq", "ts", "kind", "client_id", "payload"),
            [
                (seq, c.ts, c.kind, c.client_id, jsontext.dumps(c.payload))
                for seq, c in zip(seqs, changes, strict=True)
            ],
        )
        if keep:
            self.tx.exec(
                "trim_changes",
                lambda: delete(t.changes).where(t.changes.c.seq <= bindparam("last")),
                {"last": seqs[-1] - keep},
            )

    def clear(self) -> None:
        """Empty the log (seq keeps growing)."""
        self.tx.execute(delete(t.changes))

    def bump(self, counter: str) -> None:
        """Tell every worker that what ``counter`` stands for changed (in this transaction)."""
        self.tx.next_values(counter, 1)


class ChangeRepository:
    def __init__(self, db: Database):
        self.db = db

    def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        """Changes with a seq greater than ``seq``, oldest first, at most ``limit``."""
        statement = select(t.changes).where(t.changes.c.seq > seq).order_by(t.changes.c.seq).limit(limit)
        with self.db.read() as tx:
            return [
                Change(r.seq, r.ts, r.kind, r.client_id, jsontext.loads(r.payload))
                for r in tx.execute(statement)
            ]

    def change_bounds(self) -> tuple[int | None, int]:
        """(the oldest seq still in the change log or None when it is empty, the last seq ever given)."""
        with self.db.read() as tx:
            oldest: int | None = tx.execute(select(func.min(t.changes.c.seq))).scalar()
            last: int = tx.execute(
                select(func.coalesce(func.max(t.counters.c.value), literal(0))).where(
                    t.counters.c.name == "change_seq"
                )
            ).scalar_one()
        return oldest, last

    def read_counters(self, names: tuple[str, ...]) -> dict[str, int]:
        """Current values of some counters (0 for one never bumped), in one indexed read on the fast path."""
        prepared = self.db.prepare(
            ("counters", names),
            lambda: select(t.counters.c.name, t.counters.c.value).where(
                t.counters.c.name.in_([bindparam(f"n{i}") for i in range(len(names))])
            ),
        )
        with self.db.guard():
            found = self.db.fastpath.fetchall(prepared, {f"n{i}": name for i, name in enumerate(names)})
        values = dict.fromkeys(names, 0)
        values.update(found)
        return values

    def unchanged_since_last_read(self) -> bool:
        """True when nothing was committed by anyone since this thread's previous call (False when unsure)."""
        return self.db.unchanged_since_last_read()
