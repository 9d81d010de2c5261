"""Emulator controls: fault injection, the shared clock, the request journal, rate limits, metrics,
health probes and structured request logs.

Everything an operator or a test changes lives in the store, so every worker and node behaves alike.
Per request a worker reads one counter, the controls version, which every change bumps in its own
transaction; only when it moved does the worker reload fault rules, clock and settings. So a change
made through any worker (or the CLI) holds from the next request on, everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.clock import Clock
from gateway.controls.clock import CLOCK, ClockControl
from gateway.controls.clock import apply as apply_clock
from gateway.controls.faults import Faults
from gateway.controls.journal import Journal
from gateway.controls.ports import ControlsStorage
from gateway.controls.ratelimit import RATE_LIMIT, RateLimiter, RateLimitSettings


class Controls:
    def __init__(self, storage: ControlsStorage, clock: Clock, config: Mapping[str, Any]):
        self.store = storage.controls
        self.clock = clock
        self.faults = Faults(storage.controls, storage.accounts, clock)
        self.clock_control = ClockControl(storage.controls, clock)
        self.journal = Journal(
            storage.journal,
            enabled=config["JOURNAL"],
            keep=config["JOURNAL_MAX_ENTRIES"],
            wait_max=config.get("JOURNAL_WAIT_MAX_SECONDS", 60.0),
            recheck=config.get("JOURNAL_WAIT_RECHECK_SECONDS", 0.1),
            budget=config.get("JOURNAL_MAX_BYTES"),
            board=storage.journal.pending_board(),
        )
        defaults = RateLimitSettings(
            config["RATE_LIMIT"], config["RATE_LIMIT_PER_SECOND"], config["RATE_LIMIT_PER_HOUR"]
        )
        self.rate_limits = RateLimiter(storage.controls, clock, defaults)
        #: The controls version this worker's snapshot reflects (None: not loaded yet).
        self.version: int | None = None

    def sync(self, version: int | None = None) -> None:
        """Reload the shared state only when someone changed it (``version``: the controls counter this
        request already read, see gateway.versions; else one indexed read)."""
        if (self.store.controls_version() if version is None else version) != self.version:
            self.reload()

    def reload(self) -> None:
        version, rules, values = self.store.load_controls((CLOCK, RATE_LIMIT))
        apply_clock(self.clock, values[CLOCK])
        self.faults.load(rules)
        self.rate_limits.load(values[RATE_LIMIT])
        self.version = version

    def reset(self) -> dict:
        """Every control back to its configured state: no faults, system clock, empty journal, fresh
        counters."""
        return {
            "faults_removed": self.faults.clear(),
            "journal_entries_removed": self.journal.clear(),
            "clock": self.clock_control.reset(),
            "rate_limit": self.rate_limits.reset(),
        }


__all__ = ["Controls"]
