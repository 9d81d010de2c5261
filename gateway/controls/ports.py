"""What the emulator controls need from storage, one protocol per concern; gateway.storage implements them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from gateway.oauth.models import Account


class ControlValues(Protocol):
    """Shared control values (clock, settings) and the counter every change to a control bumps."""

    def controls_version(self) -> int: ...

    def load_controls(self, names: Iterable[str]) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
        """(version, fault rules, {name: value or None}) from one snapshot."""
        ...

    def update_control(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Replace a value by ``change(current)`` atomically (None removes it); bumps the version."""
        ...


class FaultRules(Protocol):
    def add_fault_rule(
        self, spec: dict[str, Any], *, times: int | None, created_at: float
    ) -> dict[str, Any]: ...

    def list_fault_rules(self) -> list[dict[str, Any]]: ...

    def delete_fault_rule(self, rule_id: int) -> bool: ...

    def clear_fault_rules(self) -> int: ...

    def hit_fault_rule(self, rule_id: int, fires: Callable[[int], bool]) -> int | None:
        """Count one match; ``fires(n)`` decides for the n-th. n when the rule fires, else None."""
        ...


class RateCounters(Protocol):
    def hit_rate_limits(self, account: str, windows: Sequence[tuple[str, int]]) -> list[int]: ...

    def clear_rate_limits(self) -> None: ...


class PendingBoard(Protocol):
    """Journal entries recorded and settled (written, or given up) by each process sharing the database."""

    def post(self, enqueued: int, settled: int) -> None:
        """This process's counters."""

    def take(self, enqueued: int, settled: int, floor: Callable[[], int]) -> int:
        """The number (``seq``) of the entry being handed over, in hand-over order across the processes and
        above ``floor()``, posted with this process's counters in one step."""
        ...

    def others(self) -> dict[int, tuple[int, int]]:
        """The other live processes' (enqueued, settled)."""
        ...

    def nap(self, seconds: float) -> None:
        """Sleep ``seconds`` (this process's writer), or less if ``wake`` names this process."""

    def wake(self, pids: Iterable[int]) -> None:
        """End the naps of the writers of processes ``pids``: a reader waits for what they hold."""

    def close(self) -> None: ...


class JournalLog(Protocol):
    def pending_board(self) -> PendingBoard | None:
        """Where entries not yet written are posted, if the journal may be written behind the answers."""
        ...

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the database is closed, before its connections are."""

    def last_journal_seq(self) -> int:
        """The highest ``seq`` in the journal (0 when it is empty)."""
        ...

    def append_journal(self, entries: list[dict[str, Any]], keep: int, budget: int | None = None) -> None:
        """Add the entries in one transaction; keep the newest ``keep`` and ``budget`` bytes of them."""

    def query_journal(self, *, limit: int = 100, tail: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """Entries matching ``filters`` (gateway.controls.journal.FILTERS, and ``after``), oldest first: the
        first ``limit`` of them, or with ``tail`` the last ``limit``."""
        ...

    def count_journal(self, **filters: Any) -> int: ...

    def clear_journal(self) -> int: ...


class AccountLookup(Protocol):
    def find_account(self, name_or_client_id: str) -> Account | None: ...


class ControlRows(ControlValues, FaultRules, RateCounters, Protocol):
    """The controls repository: values, fault rules and rate counters."""


class ControlsStorage(Protocol):
    @property
    def controls(self) -> ControlRows: ...

    @property
    def journal(self) -> JournalLog: ...

    @property
    def accounts(self) -> AccountLookup: ...
