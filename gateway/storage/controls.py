"""Queries of the emulator controls (fault rules, clock and settings, journal, rate limits), mixed into SQLStore.

Every worker and node reads the same rows. Each change an operator makes bumps the ``controls_version``
counter in the same transaction, so a worker learns of it with one primary-key read per request and
reloads the rest only then (see gateway.controls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection as SAConnection

from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.counters import CONTROLS_VERSION


#: The INSERT with ON CONFLICT of each engine (same API in both dialects).
_UPSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _fault_rule(row) -> dict:
    return {
        "id": row.id,
        "spec": jsontext.loads(row.spec),
        "times": row.times,
        "matched": row.matched,
        "fired": row.fired,
        "created_at": row.created_at,
    }


def _journal_entry(row) -> dict:
    entry = dict(row._mapping)
    entry["params"] = jsontext.loads(entry["params"]) if entry["params"] else {}
    return entry


class ControlsQueries:
    """Needs ``_read``, ``_write``, ``_set_meta`` and ``_next_values`` from SQLStore."""

    # --- the change counter and control values (clock, settings) -----------------------------
    def controls_version(self) -> int:
        """The change counter of the controls (gateway.versions reads it with the others on every request)."""
        return self.read_counters((CONTROLS_VERSION,))[CONTROLS_VERSION]

    def _bump_controls(self, conn: SAConnection) -> None:
        self._next_values(conn, CONTROLS_VERSION, 1)

    def load_controls(self, names: Iterable[str]) -> tuple[int, list[dict], dict[str, Any]]:
        """(version, fault rules, {name: value or None}) from one snapshot."""
        names = list(names)
        with self._read() as conn:
            version = conn.execute(
                select(t.counters.c.value).where(t.counters.c.name == CONTROLS_VERSION)
            ).scalar() or 0
            rules = [_fault_rule(r) for r in conn.execute(select(t.fault_rules).order_by(t.fault_rules.c.id))]
            values = {name: None for name in names}
            for name, raw in conn.execute(select(t.meta.c.name, t.meta.c.value).where(t.meta.c.name.in_(names))):
                values[name] = jsontext.loads(raw)
        return version, rules, values

    def update_control(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Replace a control value by ``change(current)`` atomically (None removes it); bumps the version."""
        with self._write() as conn:
            raw = conn.execute(select(t.meta.c.value).where(t.meta.c.name == name)).scalar()
            value = change(None if raw is None else jsontext.loads(raw))
            if value is None:
                conn.execute(delete(t.meta).where(t.meta.c.name == name))
            else:
                self._set_meta(conn, name, value)
            self._bump_controls(conn)
        return value

    # --- fault rules ----------------------------------------------------------------------------
    def add_fault_rule(self, spec: dict, *, times: int | None, created_at: float) -> dict:
        with self._write() as conn:
            row = conn.execute(
                insert(t.fault_rules)
                .values(spec=jsontext.dumps(spec), times=times, matched=0, fired=0, created_at=created_at)
                .returning(*t.fault_rules.c)
            ).first()
            self._bump_controls(conn)
        return _fault_rule(row)

    def list_fault_rules(self) -> list[dict]:
        with self._read() as conn:
            return [_fault_rule(r) for r in conn.execute(select(t.fault_rules).order_by(t.fault_rules.c.id))]

    def delete_fault_rule(self, rule_id: int) -> bool:
        with self._write() as conn:
            deleted = conn.execute(delete(t.fault_rules).where(t.fault_rules.c.id == rule_id)).rowcount
            if deleted:
                self._bump_controls(conn)
        return bool(deleted)

    def clear_fault_rules(self) -> int:
        with self._write() as conn:
            deleted = conn.execute(delete(t.fault_rules)).rowcount
            self._bump_controls(conn)
        return deleted

    def hit_fault_rule(self, rule_id: int, fires: Callable[[int], bool]) -> int | None:
        """Count one request matched by a rule; ``fires(n)`` decides for the rule's n-th match.

        Returns n when the rule fires, else None. A rule that has fired ``times`` times fires no more;
        the match that spends it bumps the controls version so that every worker drops it.
        """
        rules = t.fault_rules
        with self._write() as conn:
            row = conn.execute(
                update(rules)
                .where(rules.c.id == rule_id)
                .values(matched=rules.c.matched + 1)
                .returning(rules.c.matched, rules.c.fired, rules.c.times)
            ).first()
            if row is None or (row.times is not None and row.fired >= row.times) or not fires(row.matched):
                return None
            conn.execute(update(rules).where(rules.c.id == rule_id).values(fired=rules.c.fired + 1))
            if row.times is not None and row.fired + 1 >= row.times:
                self._bump_controls(conn)
        return row.matched

    # --- journal --------------------------------------------------------------------------------
    def append_journal(self, entry: dict, keep: int) -> None:
        """Add one entry and drop those older than the newest ``keep`` (once per request: on the hot path,
        committed without waiting for the disk: a killed worker loses nothing, a power cut the last few)."""
        values = {**entry, "params": jsontext.dumps(entry.get("params") or {})}
        names = tuple(sorted(values))
        prepared = self._prepare(("journal", names), lambda: (
            insert(t.journal).values({name: bindparam(name) for name in names}).returning(t.journal.c.seq)
        ))
        with self._guard():
            (seq,) = self.hot.write(prepared, values)
            if seq > keep:
                prune = self._prepare("journal_prune", lambda: delete(t.journal).where(t.journal.c.seq <= bindparam("cut")))
                self.hot.write(prune, {"cut": seq - keep})

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
    ) -> list[dict]:
        """Entries in the order they were written, after the entry numbered ``after``."""
        j = t.journal
        cond = [j.c.seq > after]
        for column, value in ((j.c.action, action), (j.c.account, account), (j.c.face, face), (j.c.status, status)):
            if value is not None:
                cond.append(column == value)
        if since is not None:
            cond.append(j.c.ts >= since)
        with self._read() as conn:
            rows = conn.execute(select(j).where(and_(*cond)).order_by(j.c.seq).limit(limit))
            return [_journal_entry(r) for r in rows]

    def clear_journal(self) -> int:
        with self._write() as conn:
            return conn.execute(delete(t.journal)).rowcount

    # --- rate limits ----------------------------------------------------------------------------
    def hit_rate_limits(self, account: str, windows: Sequence[tuple[str, int]]) -> list[int]:
        """Count one request of ``account`` in each (period, window start); the counts, in one transaction.

        A counter whose stored window is not the given one starts again at 1. Each count is one atomic
        upsert, so concurrent workers and nodes never lose a hit.
        """
        rc = t.rate_counters
        counts = []
        with self._write() as conn:
            upsert = _UPSERT[conn.dialect.name]
            for period, start in windows:
                statement = upsert(rc).values(account=account, period=period, period_start=start, hits=1)
                statement = statement.on_conflict_do_update(
                    index_elements=[rc.c.account, rc.c.period],
                    set_={"hits": case((rc.c.period_start == start, rc.c.hits + 1), else_=1), "period_start": start},
                )
                counts.append(conn.execute(statement.returning(rc.c.hits)).scalar_one())
        return counts

    def clear_rate_limits(self) -> None:
        with self._write() as conn:
            conn.execute(delete(t.rate_counters))

    # --- metrics --------------------------------------------------------------------------------
    def count_clients_by_type(self) -> dict[str, int]:
        """Connected clients per client type (types without clients are absent)."""
        statement = select(t.clients.c.type, func.count()).where(t.clients.c.connected).group_by(t.clients.c.type)
        with self._read() as conn:
            return {ctype: count for ctype, count in conn.execute(statement)}
