"""The shared change counters a worker reads once per API request, to know whether what it caches is stale.

Every change to emulator controls bumps ``controls_version``; every change to an API account or its tokens
(permissions, secret, enabled flag, a token revoked or evicted) bumps ``accounts_version``; every registry
write takes seqs from ``change_seq`` for the changes it logs; each in the same transaction as the change
(the names below are rows of the ``counters`` table). At the start of each
API request a worker reads both in one indexed query (on SQLite not even that when ``PRAGMA data_version``
says nobody committed anything since); anything it cached under other values is read again. So no cache
outlives a change beyond the requests already running when it committed, on any worker of any node.
"""

from __future__ import annotations

import threading
from typing import Protocol

#: Names of the shared change counters (rows of the ``counters`` table), bumped by storage in the
#: transaction of every change they stand for.
CONTROLS_VERSION = "controls_version"  # fault rules, clock, rate-limit settings
ACCOUNTS_VERSION = "accounts_version"  # API accounts and their tokens (revocations, permissions, secrets)
#: The change log's sequence: every registry write (feed operations, resets, population loads) appends
#: changes in its transaction, so its last value changes with any client's rendered bytes.
REGISTRY_VERSION = "change_seq"
VERSIONS = (CONTROLS_VERSION, ACCOUNTS_VERSION, REGISTRY_VERSION)


class Counters(Protocol):
    def read_counters(self, names: tuple[str, ...]) -> dict[str, int]: ...

    def unchanged_since_last_read(self) -> bool:
        """True when nothing was committed by anyone since this thread's previous call (False when unsure)."""
        ...


class Versions:
    def __init__(self, store: Counters):
        self.store = store
        self._local = threading.local()

    def refresh(self) -> dict[str, int]:
        """The counters for the request this thread is serving: one query, or none at all when the engine
        can tell that nothing was committed since this thread last read them (SQLite's data_version)."""
        values = getattr(self._local, "values", None)
        if values is None or not self.store.unchanged_since_last_read():
            values = self._local.values = self.store.read_counters(VERSIONS)
        return values

    def _current(self, name: str) -> int | None:
        """The value this thread's current request refreshed (None before any refresh: do not cache)."""
        values = getattr(self._local, "values", None)
        return None if values is None else values.get(name, 0)

    @property
    def controls(self) -> int | None:
        return self._current(CONTROLS_VERSION)

    @property
    def accounts(self) -> int | None:
        """The accounts counter this thread's request started with; None outside a request (do not cache)."""
        return self._current(ACCOUNTS_VERSION)

    @property
    def registry(self) -> int | None:
        """The registry's change version this thread's request started with; None outside a request."""
        return self._current(REGISTRY_VERSION)
