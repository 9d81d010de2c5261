"""The controllable clock, shared through the store: freeze, advance, set, reset.

The state is one control value ``{"offset": seconds, "frozen_at": instant or null}``. Every change
is a read-modify-write in one transaction (two operators advancing at once both count) and bumps the
controls version, so every worker's :class:`gateway.clock.Clock` follows on its next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.validate import Range

from gateway.clock import Clock, iso8601
from gateway.controls.ports import ControlValues
from gateway.errors import InvalidRequestError

CLOCK = "controls.clock"


#: Gateway time may be set anywhere from 1970 to 2100.
LATEST = 4_102_444_800


class Instant(fields.Field):
    """UNIX seconds, or an ISO 8601 time with an offset (``2026-11-23T03:04:57Z``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            instant = float(value)
        elif isinstance(value, str):
            try:
                instant = float(value)
            except ValueError:
                try:
                    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
                except ValueError:
                    raise ValidationError("must be UNIX seconds or an ISO 8601 time") from None
                if parsed.tzinfo is None:
                    raise ValidationError("an ISO 8601 time needs an offset (e.g. +00:00 or Z)") from None
                instant = parsed.timestamp()
        else:
            raise ValidationError("must be UNIX seconds or an ISO 8601 time")
        if not 0 <= instant <= LATEST:  # also refuses NaN
            raise ValidationError(f"must lie between 1970 and 2100 (0 to {LATEST} UNIX seconds)")
        return instant


class AdvanceSchema(Schema):
    class Meta:
        unknown = RAISE

    seconds = fields.Float(required=True, validate=Range(-LATEST, LATEST))


class SetSchema(Schema):
    class Meta:
        unknown = RAISE

    time = Instant(required=True)
    frozen = fields.Boolean()


def apply(clock: Clock, value: dict | None) -> None:
    """Make ``clock`` follow a stored state (None: the system clock)."""
    value = value or {}
    clock.frozen_at = value.get("frozen_at")
    clock.offset = float(value.get("offset", 0.0))


def _now(state: dict) -> float:
    return (
        state["frozen_at"] if state.get("frozen_at") is not None else time.time() + state.get("offset", 0.0)
    )


def _state(value: dict | None) -> dict:
    return {"offset": 0.0, "frozen_at": None, **(value or {})}


class ClockControl:
    def __init__(self, store: ControlValues, clock: Clock):
        self.store = store
        self.clock = clock

    def describe(self) -> dict:
        now = self.clock.now()
        frozen = self.clock.frozen_at is not None
        return {
            "now": now,
            "iso": iso8601(int(now)),
            "offset": round(now - time.time() if frozen else self.clock.offset, 3) + 0.0,
            "frozen": frozen,
        }

    def _change(self, change: Callable[[dict], dict | None], field: str = "time") -> dict:
        def checked(value: dict | None) -> dict | None:
            state = change(_state(value))
            if state is not None and not 0 <= _now(state) <= LATEST:
                raise InvalidRequestError(
                    f"{field}: gateway time must stay between 1970 and 2100.", details={"field": field}
                )
            return state

        apply(self.clock, self.store.update_control(CLOCK, checked))
        return self.describe()

    def advance(self, seconds: float) -> dict:
        """Move time forward (or back, with a negative number), frozen or not."""

        def change(state: dict) -> dict:
            if state["frozen_at"] is not None:
                return {**state, "frozen_at": state["frozen_at"] + seconds}
            return {**state, "offset": state["offset"] + seconds}

        return self._change(change, "seconds")

    def set(self, instant: float, frozen: bool | None = None) -> dict:
        """Make "now" ``instant`` (UNIX seconds), frozen there or running from there (None: as it was)."""

        def change(state: dict) -> dict:
            if frozen or (frozen is None and state["frozen_at"] is not None):
                return {"offset": 0.0, "frozen_at": float(instant)}
            return {"offset": float(instant) - time.time(), "frozen_at": None}

        return self._change(change)

    def freeze(self) -> dict:
        """Stop time at the current instant (until unfreeze or reset)."""
        return self._change(lambda state: {**state, "frozen_at": _now(state)})

    def unfreeze(self) -> dict:
        """Let time run again from the frozen instant."""
        return self._change(lambda state: {"offset": _now(state) - time.time(), "frozen_at": None})

    def reset(self) -> dict:
        """Back to the system clock."""
        return self._change(lambda state: None)
