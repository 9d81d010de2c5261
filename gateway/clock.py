"""The gateway's notion of "now": token lifetimes, ``ts`` attributes, the journal and demo timestamps all
read it.

The system clock can be shifted by an offset or frozen at an instant (a test or an operator advancing
time to expire tokens); that state lives in the store so that every worker and node sees the same time
(gateway.controls.clock keeps it and updates this object when it changes).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock seconds plus an adjustable offset, or a frozen instant."""

    def __init__(self, offset: float = 0.0, frozen_at: float | None = None):
        self.offset = offset
        self.frozen_at = frozen_at

    def now(self) -> float:
        frozen_at = self.frozen_at
        return time.time() + self.offset if frozen_at is None else frozen_at

    def now_int(self) -> int:
        return int(self.now())


def iso8601(ts: int) -> str:
    """UNIX seconds as the appliance writes them: ISO 8601 in UTC with an explicit offset."""
    return datetime.fromtimestamp(ts, UTC).isoformat()
