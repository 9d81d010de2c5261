"""The gateway's notion of "now": token lifetimes, ``ts`` attributes and demo timestamps all read it.

The system clock can be shifted by an offset (a test or an operator advancing time to expire tokens);
the offset lives in the store so that every worker and node sees the same time.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    """Wall-clock seconds plus an adjustable offset."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def now_int(self) -> int:
        return int(self.now())


def iso8601(ts: int) -> str:
    """UNIX seconds as the appliance writes them: ISO 8601 in UTC with an explicit offset."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()
