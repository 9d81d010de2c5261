"""ISO 8601 times as the command API writes them: ``2026-11-23T03:04:57+00:00`` beside ``ts="..."``.

The gateway writes UTC (``+00:00``). A capture of a real appliance may carry another offset
(``-05:00``, ``Z``); a client keeps the offset each of its times was imported or fed with, so that
serving it again gives the same text.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from gateway.clock import iso8601
from gateway.registry.text import OFFSET_PATTERN

_OFFSET = re.compile(rf"^(?:{OFFSET_PATTERN})$")
_TIME = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}({OFFSET_PATTERN})$")


def is_offset(value: str) -> bool:
    return bool(_OFFSET.fullmatch(value))


def _seconds(offset: str) -> int:
    if offset == "Z":
        return 0
    sign = -1 if offset[0] == "-" else 1
    return sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)


def format_time(ts: int, offset: str | None = None) -> str:
    """``ts`` as ISO 8601 with ``offset`` (None: the gateway's own ``+00:00``)."""
    if offset is None:
        return iso8601(ts)
    local = datetime.fromtimestamp(ts, timezone(timedelta(seconds=_seconds(offset))))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset


def parse_time(text: str) -> tuple[int, str | None]:
    """(ts, offset) of an ISO 8601 time the gateway can write again exactly; ValueError otherwise.

    ``+00:00`` is the gateway's default and comes back as None.
    """
    match = _TIME.fullmatch(text)
    if not match:
        raise ValueError(f"{text[:60]!r} is not YYYY-MM-DDTHH:MM:SS followed by Z or an offset ±HH:MM")
    try:
        ts = int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise ValueError(f"{text[:60]!r} is not a valid date and time") from None
    offset = None if match.group(1) == "+00:00" else match.group(1)
    if format_time(ts, offset) != text:
        raise ValueError(f"{text[:60]!r} cannot be written back identically")
    return ts, offset
