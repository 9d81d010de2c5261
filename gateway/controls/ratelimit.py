"""Rate limits per API account: fixed one-second and one-hour windows, counted in the store.

Off by default (GATEWAY_RATE_LIMIT). The documented third-party figures are 20 requests a second and
15,000 an hour per API account. Every authenticated request of the command and JSON faces counts,
refused ones included; counts are atomic upserts in the store, so the limits hold across workers and
nodes. Windows follow the gateway clock: advancing it opens a new window. An operator or a test may
override the configured settings at runtime (shared, like every control).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Range

from gateway.clock import Clock
from gateway.controls.ports import ControlValues, RateCounters
from gateway.registry.validation import load_object

RATE_LIMIT = "controls.rate_limit"


class RateLimitStore(ControlValues, RateCounters, Protocol):
    """The settings override is a control value; the counts are rate counters."""


#: (period name, window length in seconds, settings field holding its limit)
PERIODS = (("second", 1, "per_second"), ("hour", 3600, "per_hour"))


@dataclass(frozen=True)
class RateLimitSettings:
    enabled: bool = False
    per_second: int = 20
    per_hour: int = 15_000


class SettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.Boolean()
    per_second = fields.Integer(strict=True, validate=Range(1, 1_000_000))
    per_hour = fields.Integer(strict=True, validate=Range(1, 1_000_000_000))


@dataclass(frozen=True)
class Verdict:
    """The binding window of one request: the exceeded one, else the one with the fewest requests left."""

    period: str  # "second" or "hour"
    limited: bool
    limit: int
    remaining: int
    reset: int  # UNIX seconds (gateway clock) when the window ends
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if self.limited:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    def __init__(self, store: RateLimitStore, clock: Clock, defaults: RateLimitSettings):
        self.store = store
        self.clock = clock
        self.defaults = defaults
        #: In force on this worker; refreshed by gateway.controls when the controls version moves.
        self.settings = defaults

    def load(self, override: dict | None) -> None:
        self.settings = replace(self.defaults, **(override or {}))

    def describe(self) -> dict:
        return asdict(self.settings)

    # --- admin ----------------------------------------------------------------------------------
    def configure(self, data) -> dict:
        """Override some settings for every worker (until reset); returns the settings in force."""
        changes = load_object(SettingsSchema(), data)
        self.load(self.store.update_control(RATE_LIMIT, lambda current: {**(current or {}), **changes}))
        return self.describe()

    def reset(self) -> dict:
        """Back to the configured settings, every counter at zero."""
        self.store.update_control(RATE_LIMIT, lambda current: None)
        self.store.clear_rate_limits()
        self.load(None)
        return self.describe()

    # --- per request ----------------------------------------------------------------------------
    def hit(self, account: str) -> Verdict:
        """Count one request of ``account`` (a client id) and judge it."""
        now = self.clock.now()
        windows = [(name, int(now // length) * length) for name, length, _ in PERIODS]
        counts = self.store.hit_rate_limits(account, windows)
        verdicts = []
        # one window per period, one count per window
        for (period, length, setting), (_, start), count in zip(PERIODS, windows, counts, strict=True):
            limit = getattr(self.settings, setting)
            reset = start + length
            verdicts.append(
                Verdict(
                    period, count > limit, limit, max(0, limit - count), reset, max(1, math.ceil(reset - now))
                )
            )
        exceeded = [v for v in verdicts if v.limited]
        if exceeded:
            return max(exceeded, key=lambda v: v.reset)
        return min(verdicts, key=lambda v: (v.remaining, v.reset))
