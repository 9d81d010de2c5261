"""Rows of the emulator controls: control values (clock, settings), fault rules and rate-limit counters.

Every worker and node reads the same rows. Each change an operator makes bumps the ``controls_version``
counter in the same transaction, so a worker learns of it with one primary-key read per request and
reloads the rest only then (see gateway.controls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import case, delete, insert, select, update

from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.database import Database, Tx
from gateway.versions import CONTROLS_VERSION


def _fault_rule(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "spec": jsontext.loads(row.spec),
        "times": row.times,
        "matched": row.matched,
        "fired": row.fired,
        "created_at": row.created_at,
    }


def _bump(tx: Tx) -> None:
    tx.next_values(CONTROLS_VERSION, 1)


class ControlRepository:
    def __init__(self, db: Database):
        self.db = db

    # --- the change counter and control values (clock, settings) -----------------------------
    def controls_version(self) -> int:
        """The change counter of the controls (gateway.versions reads it with the others on every request)."""
        prepared = self.db.prepare(
            "controls_version",
            lambda: select(t.counters.c.value).where(t.counters.c.name == CONTROLS_VERSION),
        )
        with self.db.guard():
            row = self.db.fastpath.fetchone(prepared)
        return 0 if row is None else int(row[0])

    def get_meta(self, name: str, default: Any = None) -> Any:
        with self.db.read() as tx:
            value = tx.get_meta(name)
        return default if value is None else value

    def set_meta(self, name: str, value: Any) -> None:
        with self.db.write() as tx:
            tx.set_meta(name, value)

    def load_controls(self, names: Iterable[str]) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
        """(version, fault rules, {name: value or None}) from one snapshot."""
        names = list(names)
        with self.db.read() as tx:
            version = (
                tx.execute(select(t.counters.c.value).where(t.counters.c.name == CONTROLS_VERSION)).scalar()
                or 0
            )
            rules = [_fault_rule(r) for r in tx.execute(select(t.fault_rules).order_by(t.fault_rules.c.id))]
            values: dict[str, Any] = dict.fromkeys(names)
            found: Any = tx.execute(select(t.meta.c.name, t.meta.c.value).where(t.meta.c.name.in_(names)))
            for name, raw in found:
                values[name] = jsontext.loads(raw)
        return version, rules, values

    def update_control(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Replace a control value by ``change(current)`` atomically (None removes it); bumps the version."""
        with self.db.write() as tx:
            value = change(tx.get_meta(name))
            if value is None:
                tx.execute(delete(t.meta).where(t.meta.c.name == name))
            else:
                tx.set_meta(name, value)
            _bump(tx)
        return value

    # --- fault rules ----------------------------------------------------------------------------
    def add_fault_rule(self, spec: dict[str, Any], *, times: int | None, created_at: float) -> dict[str, Any]:
        with self.db.write() as tx:
            row = tx.execute(
                insert(t.fault_rules)
                .values(spec=jsontext.dumps(spec), times=times, matched=0, fired=0, created_at=created_at)
                .returning(*t.fault_rules.c)
            ).first()
            _bump(tx)
        return _fault_rule(row)

    def list_fault_rules(self) -> list[dict[str, Any]]:
        with self.db.read() as tx:
            return [_fault_rule(r) for r in tx.execute(select(t.fault_rules).order_by(t.fault_rules.c.id))]

    def delete_fault_rule(self, rule_id: int) -> bool:
        with self.db.write() as tx:
            deleted = tx.execute(delete(t.fault_rules).where(t.fault_rules.c.id == rule_id)).rowcount
            if deleted:
                _bump(tx)
        return bool(deleted)

    def clear_fault_rules(self) -> int:
        with self.db.write() as tx:
            deleted = tx.execute(delete(t.fault_rules)).rowcount
            _bump(tx)
        return deleted

    def hit_fault_rule(self, rule_id: int, fires: Callable[[int], bool]) -> int | None:
        """Count one request matched by a rule; ``fires(n)`` decides for the rule's n-th match.

        Returns n when the rule fires, else None. A rule that has fired ``times`` times fires no more;
        the match that spends it bumps the controls version so that every worker drops it.
        """
        rules = t.fault_rules
        with self.db.write() as tx:
            row = tx.execute(
                update(rules)
                .where(rules.c.id == rule_id)
                .values(matched=rules.c.matched + 1)
                .returning(rules.c.matched, rules.c.fired, rules.c.times)
            ).first()
            if row is None or (row.times is not None and row.fired >= row.times) or not fires(row.matched):
                return None
            tx.execute(update(rules).where(rules.c.id == rule_id).values(fired=rules.c.fired + 1))
            if row.times is not None and row.fired + 1 >= row.times:
                _bump(tx)
        matched: int = row.matched
        return matched

    # --- rate limits ----------------------------------------------------------------------------
    def hit_rate_limits(self, account: str, windows: Sequence[tuple[str, int]]) -> list[int]:
        """Count one request of ``account`` in each (period, window start); the counts, in one transaction.

        A counter whose stored window is not the given one starts again at 1. Each count is one atomic
        upsert, so concurrent workers and nodes never lose a hit.
        """
        rc = t.rate_counters
        counts = []
        with self.db.write() as tx:
            for period, start in windows:
                statement = self.db.dialect.insert(rc).values(
                    account=account, period=period, period_start=start, hits=1
                )
                statement = statement.on_conflict_do_update(
                    index_elements=[rc.c.account, rc.c.period],
                    set_={
                        "hits": case((rc.c.period_start == start, rc.c.hits + 1), else_=1),
                        "period_start": start,
                    },
                )
                counts.append(tx.execute(statement.returning(rc.c.hits)).scalar_one())
        return counts

    def clear_rate_limits(self) -> None:
        with self.db.write() as tx:
            tx.execute(delete(t.rate_counters))
