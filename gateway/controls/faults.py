"""Fault injection: rules that add latency, answer errors or 429s, drop or reset connections, or send a
truncated, slowly dribbled or malformed body.

A rule says what it matches (``match``: face, action, account, path), what it does (``latency`` and at
most one of ``error``, ``rate_limit``, ``drop``, ``reset``, ``truncate``, ``dribble``, ``malformed``) and
when (always, ``every`` Nth match,
with ``probability`` p, at most ``times`` times, for ``for_seconds`` of gateway time). Rules live in the
store; each match is counted there, so "every 3rd request" and seeded probabilities hold across workers
and nodes. Plain Python: gateway.controls.hooks applies an :class:`Outcome` to the request.
"""

from __future__ import annotations

import fnmatch
import http
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length, OneOf, Range

from gateway.clock import Clock
from gateway.controls.ports import AccountLookup, FaultRules
from gateway.errors import GatewayError, InvalidRequestError, RateLimitedError
from gateway.registry.text import is_xml_safe
from gateway.registry.validation import FullMatch, load_object

#: The faces a rule can match: the XML command API, the token endpoint, the JSON API (admin excluded).
FACES = ("command", "oauth", "json")
#: Effects that answer instead of the gateway (at most one per rule); ``latency`` may accompany them.
TERMINAL = ("error", "rate_limit", "drop", "reset", "truncate", "dribble", "malformed")
#: Effects on the answer's bytes or its connection, carried out by gateway.controls.middleware.
TRANSPORT = ("drop", "reset", "truncate", "dribble", "malformed")
#: What a malformed body is: the real answer cut in the middle (no longer well-formed, its length
#: consistent), a text that is not XML (nor JSON) under the answer's content type, or nothing.
MALFORMED_BODIES = ("cut", "garbage", "empty")
MAX_LATENCY_MS = 300_000

#: Wire codes of injected errors by status (JSON ``error`` member); others: server_error / invalid_request.
ERROR_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "insufficient_permission",
    404: "not_found",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "temporarily_unavailable",
    504: "gateway_timeout",
}


def _xml_safe(value: str) -> None:
    if not is_xml_safe(value):
        raise ValidationError("contains characters XML cannot carry")


class _Actions(fields.Field):
    """An action name or a list of them (``token`` is the token endpoint)."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or len(items) > 50:
            raise ValidationError("must be an action name or a list of 1 to 50 of them")
        for item in items:
            if not isinstance(item, str) or not 1 <= len(item) <= 128 or not item.isprintable():
                raise ValidationError("each action is 1-128 printable characters")
        return items


class MatchSchema(Schema):
    class Meta:
        unknown = RAISE

    face = fields.String(validate=OneOf(FACES))
    action = _Actions()
    account = fields.String(validate=[Length(1, 128), _xml_safe])
    path = fields.String(
        validate=[
            Length(1, 256),
            FullMatch(r"^/\S*$", error="must be a path glob starting with /"),
            _xml_safe,
        ]
    )


class LatencySchema(Schema):
    class Meta:
        unknown = RAISE

    ms = fields.Integer(strict=True, validate=Range(0, MAX_LATENCY_MS))
    min_ms = fields.Integer(strict=True, validate=Range(0, MAX_LATENCY_MS))
    max_ms = fields.Integer(strict=True, validate=Range(0, MAX_LATENCY_MS))

    @validates_schema
    def _one_form(self, data, **kwargs):
        if "ms" in data:
            if "min_ms" in data or "max_ms" in data:
                raise ValidationError("give either ms or min_ms and max_ms", "ms")
        elif "min_ms" not in data or "max_ms" not in data:
            raise ValidationError("give ms (fixed) or min_ms and max_ms (uniform)", "ms")
        elif data["min_ms"] > data["max_ms"]:
            raise ValidationError("must not exceed max_ms", "min_ms")


def _error_status(status: int) -> None:
    if status != 200 and not 400 <= status <= 599:
        raise ValidationError("must be 200 (an <error> body, as appliances answer) or 400-599")


class ErrorSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Integer(strict=True, required=True, validate=_error_status)
    message = fields.String(validate=[Length(1, 1000), _xml_safe])
    code = fields.String(
        validate=FullMatch(r"^[a-z][a-z0-9_]{0,63}$", error="must be a lower_case wire code")
    )


class RateLimitSchema(Schema):
    class Meta:
        unknown = RAISE

    retry_after = fields.Integer(strict=True, load_default=1, validate=Range(0, 86_400))


class TruncateSchema(Schema):
    class Meta:
        unknown = RAISE

    fraction = fields.Float(validate=Range(0, 1, max_inclusive=False))
    bytes = fields.Integer(strict=True, validate=Range(0, 1 << 30))

    @validates_schema
    def _one_form(self, data, **kwargs):
        if "fraction" in data and "bytes" in data:
            raise ValidationError("give either fraction or bytes", "fraction")


class DribbleSchema(Schema):
    class Meta:
        unknown = RAISE

    bytes_per_second = fields.Integer(strict=True, required=True, validate=Range(1, 1 << 20))


class MalformedSchema(Schema):
    class Meta:
        unknown = RAISE

    body = fields.String(load_default="cut", validate=OneOf(MALFORMED_BODIES))


class FaultRuleSchema(Schema):
    class Meta:
        unknown = RAISE

    match = fields.Nested(MatchSchema, load_default=dict)
    latency = fields.Nested(LatencySchema)
    error = fields.Nested(ErrorSchema)
    rate_limit = fields.Nested(RateLimitSchema)
    drop = fields.Boolean()
    reset = fields.Boolean(metadata={"description": "Reset the connection (TCP RST) without an answer."})
    truncate = fields.Nested(TruncateSchema)
    dribble = fields.Nested(DribbleSchema, metadata={"description": "Send the body this slowly."})
    malformed = fields.Nested(MalformedSchema, metadata={"description": "Answer a broken body instead."})
    every = fields.Integer(strict=True, validate=Range(1, 1_000_000))
    probability = fields.Float(validate=Range(0, 1))
    seed = fields.Integer(strict=True, validate=Range(-(2**63), 2**63 - 1))
    times = fields.Integer(strict=True, validate=Range(1, 1_000_000_000))
    for_seconds = fields.Float(validate=Range(0, 10**9, min_inclusive=False))

    @validates_schema
    def _effects(self, data, **kwargs):
        terminal = [name for name in TERMINAL if name in data and data[name] is not False]
        if len(terminal) > 1:
            raise ValidationError(
                f"a rule has at most one of {', '.join(TERMINAL)}; got {' and '.join(terminal)}", terminal[1]
            )
        if not terminal and "latency" not in data:
            raise ValidationError(
                f"a rule needs an effect: latency and/or one of {', '.join(TERMINAL)}", "latency"
            )
        if "every" in data and "probability" in data:
            raise ValidationError("give either every or probability", "probability")


def validate(data) -> dict:
    """A rule as the admin API and the CLI take it, checked; InvalidRequestError names the field."""
    spec = load_object(FaultRuleSchema(), data)
    for flag in ("drop", "reset"):
        if spec.get(flag) is False:
            del spec[flag]
    if "truncate" in spec and not spec["truncate"]:
        spec["truncate"] = {"fraction": 0.5}
    return spec


@dataclass(frozen=True)
class FaultRequest:
    """What a rule is matched against; ``account`` is resolved only if a rule asks (it may cost a read)."""

    face: str
    action: str | None
    path: str
    account: Callable[[], str | None]


@dataclass(frozen=True)
class FaultRule:
    id: int
    spec: dict
    created_at: float
    times: int | None = None
    matched: int = 0
    fired: int = 0

    @classmethod
    def from_row(cls, row: dict) -> FaultRule:
        return cls(row["id"], row["spec"], row["created_at"], row["times"], row["matched"], row["fired"])

    @property
    def terminal(self) -> str | None:
        return next((name for name in TERMINAL if name in self.spec), None)

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def expired(self, now: float) -> bool:
        return "for_seconds" in self.spec and now >= self.created_at + self.spec["for_seconds"]

    def matches(self, request: FaultRequest) -> bool:
        match = self.spec.get("match", {})
        if match.get("face", request.face) != request.face:
            return False
        if "action" in match and request.action not in match["action"]:
            return False
        if "path" in match and not fnmatch.fnmatchcase(request.path, match["path"]):
            return False
        return "account" not in match or request.account() == match["account"]

    def _random(self, n: int, purpose: str) -> random.Random:
        """Seeded: the same draw for the rule's n-th match on every worker; else the system's randomness."""
        seed = self.spec.get("seed")
        return random.Random(f"{seed}:{n}:{purpose}") if seed is not None else random.Random()

    def fires(self, n: int) -> bool:
        """Whether the rule acts on its n-th matching request."""
        if "every" in self.spec:
            return n % self.spec["every"] == 0
        if "probability" in self.spec:
            return self._random(n, "fire").random() < self.spec["probability"]
        return True

    def latency(self, n: int) -> float:
        """Seconds to wait on the n-th match."""
        latency = self.spec.get("latency")
        if not latency:
            return 0.0
        if "ms" in latency:
            return latency["ms"] / 1000
        return self._random(n, "latency").uniform(latency["min_ms"], latency["max_ms"]) / 1000

    def public(self, now: float) -> dict:
        state = "spent" if self.spent else "expired" if self.expired(now) else "active"
        return {
            "id": self.id,
            **self.spec,
            "matched": self.matched,
            "fired": self.fired,
            "created_at": self.created_at,
            "state": state,
        }


@dataclass
class Outcome:
    """What the faults do to one request: a delay, then perhaps a terminal effect."""

    latency: float = 0.0
    rule: FaultRule | None = None
    fired: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        if self.rule is not None:
            return self.rule.terminal
        return "latency" if self.latency else None


def injected_error(rule: FaultRule, action_root: str | None) -> GatewayError:
    """The error a rule answers with; its body is rendered by gateway.http_errors like any other."""
    if "rate_limit" in rule.spec:
        retry_after = rule.spec["rate_limit"]["retry_after"]
        return RateLimitedError("Too many requests; retry later.", headers={"Retry-After": str(retry_after)})
    spec = rule.spec["error"]
    status = spec["status"]
    try:
        default_message = http.HTTPStatus(status).phrase
    except ValueError:
        default_message = f"HTTP {status}"
    # A 200 error sits in a list action's root, as an appliance's parameter errors do.
    error = GatewayError(
        spec.get("message", default_message), status=status, root=action_root if status == 200 else None
    )
    error.code = spec.get("code") or ERROR_CODES.get(
        status, "server_error" if status >= 500 else "invalid_request"
    )
    return error


class Faults:
    def __init__(self, store: FaultRules, accounts: AccountLookup, clock: Clock):
        self.store = store
        self.accounts = accounts
        self.clock = clock
        #: The rules in force on this worker, refreshed by gateway.controls when the controls version moves.
        self.rules: tuple[FaultRule, ...] = ()

    def load(self, rows: Sequence[dict]) -> None:
        self.rules = tuple(rule for rule in map(FaultRule.from_row, rows) if not rule.spent)

    # --- admin ----------------------------------------------------------------------------------
    def add(self, data) -> dict:
        spec = validate(data)
        account = spec["match"].get("account")
        if account is not None:
            found = self.accounts.find_account(account)
            if found is None:
                raise InvalidRequestError(
                    f"match.account: no API account is named or has the client id {account!r}.",
                    details={"field": "match.account"},
                )
            spec["match"]["account"] = found.client_id
        row = self.store.add_fault_rule(spec, times=spec.get("times"), created_at=self.clock.now())
        return FaultRule.from_row(row).public(self.clock.now())

    def list(self) -> list[dict]:
        now = self.clock.now()
        return [FaultRule.from_row(row).public(now) for row in self.store.list_fault_rules()]

    def delete(self, rule_id: int) -> bool:
        return self.store.delete_fault_rule(rule_id)

    def clear(self) -> int:
        return self.store.clear_fault_rules()

    # --- per request ----------------------------------------------------------------------------
    def evaluate(self, request: FaultRequest) -> Outcome:
        """Walk the rules in order: latencies add up; the first terminal effect that fires ends the walk."""
        outcome = Outcome()
        if not self.rules:
            return outcome
        now = self.clock.now()
        for rule in self.rules:
            if rule.expired(now) or not rule.matches(request):
                continue
            n = self.store.hit_fault_rule(rule.id, rule.fires)
            if n is None:
                continue
            outcome.fired.append(rule.id)
            outcome.latency += rule.latency(n)
            if rule.terminal:
                outcome.rule = rule
                break
        return outcome
