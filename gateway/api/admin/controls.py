"""Admin routes of the emulator controls: faults, clock, journal, rate limits, and resetting them all."""

from __future__ import annotations

from gateway.api import streaming
from gateway.api.admin import answers, blueprint
from gateway.api.auth import ADMIN, authenticate, requires
from gateway.api.blueprint import errors
from gateway.controls.clock import AdvanceSchema, SetSchema
from gateway.controls.faults import FaultRuleSchema
from gateway.controls.journal import CountOut, FilterSchema, QuerySchema, WaitOut, WaitSchema
from gateway.controls.ratelimit import SettingsSchema
from gateway.errors import NotFoundError
from gateway.web import services


def _controls():
    return services().controls


# --- faults -------------------------------------------------------------------------------------
@blueprint.route("/faults", methods=["GET"])
@requires(ADMIN)
@answers()
def faults_list():
    """Fault rules"""
    return {"faults": _controls().faults.list()}


@blueprint.route("/faults", methods=["POST"])
@requires(ADMIN)
@blueprint.arguments(FaultRuleSchema)
@answers(201)
def faults_add(rule: dict):
    """Add a fault rule"""
    return _controls().faults.add(rule), 201


@blueprint.route("/faults/<int(min=1, max=9223372036854775807):rule_id>", methods=["DELETE"])  # ids are int64
@requires(ADMIN)
@answers()
@errors(404)
def faults_delete(rule_id: int):
    """Remove one fault rule"""
    if not _controls().faults.delete(rule_id):
        raise NotFoundError(f"No fault rule has the id {rule_id}.")
    return {"removed": 1}


@blueprint.route("/faults", methods=["DELETE"])
@requires(ADMIN)
@answers()
def faults_clear():
    """Remove every fault rule"""
    return {"removed": _controls().faults.clear()}


# --- clock --------------------------------------------------------------------------------------
@blueprint.route("/clock", methods=["GET"])
@requires(ADMIN)
@answers()
def clock_show():
    """The gateway clock"""
    return _controls().clock_control.describe()


@blueprint.route("/clock/advance", methods=["POST"])
@requires(ADMIN)
@blueprint.arguments(AdvanceSchema)
@answers()
def clock_advance(args: dict):
    """Advance the clock"""
    return _controls().clock_control.advance(args["seconds"])


@blueprint.route("/clock/set", methods=["POST"])
@requires(ADMIN)
@blueprint.arguments(SetSchema)
@answers()
def clock_set(args: dict):
    """Set the clock"""
    return _controls().clock_control.set(args["time"], args.get("frozen"))


@blueprint.route("/clock/freeze", methods=["POST"])
@requires(ADMIN)
@answers()
def clock_freeze():
    """Freeze the clock"""
    return _controls().clock_control.freeze()


@blueprint.route("/clock/unfreeze", methods=["POST"])
@requires(ADMIN)
@answers()
def clock_unfreeze():
    """Let the clock run"""
    return _controls().clock_control.unfreeze()


@blueprint.route("/clock/reset", methods=["POST"])
@requires(ADMIN)
@answers()
def clock_reset():
    """Back to the system clock"""
    return _controls().clock_control.reset()


# --- journal ------------------------------------------------------------------------------------
@blueprint.route("/journal", methods=["GET"])
@requires(ADMIN)
@blueprint.arguments(QuerySchema, location="query")
@answers()
def journal_query(args: dict):
    """The request journal"""
    return _controls().journal.query(**args)


@blueprint.route("/journal/count", methods=["GET"])
@requires(ADMIN)
@blueprint.arguments(FilterSchema, location="query")
@blueprint.response(200, CountOut)
def journal_count(args: dict):
    """How many journal entries match"""
    return _controls().journal.count(**args)


@blueprint.route("/journal/wait", methods=["GET"])
@requires(ADMIN)
@blueprint.arguments(WaitSchema, location="query")
@blueprint.response(200, WaitOut)
@errors(503)
def journal_wait(args: dict):
    """Wait until enough journal entries match

    Blocks until at least ``count`` entries match the filters, or ``timeout`` seconds passed; the answer
    says which (``satisfied``). Served beside the worker's request gate, it takes one of the worker's
    stream slots (GATEWAY_STREAMS_PER_WORKER; 503 with Retry-After when none is free)."""
    slots = services().streams
    account = authenticate().client_id
    slots.take_or_refuse(account, "streams and waits", 1)
    try:
        return _controls().journal.wait(alive=lambda: streaming.worker_alive(), **args)
    finally:
        slots.give(account)


@blueprint.route("/journal", methods=["DELETE"])
@requires(ADMIN)
@answers()
def journal_clear():
    """Empty the journal"""
    return {"removed": _controls().journal.clear()}


# --- rate limits --------------------------------------------------------------------------------
@blueprint.route("/ratelimit", methods=["GET"])
@requires(ADMIN)
@answers()
def ratelimit_show():
    """Rate-limit settings"""
    return _controls().rate_limits.describe()


@blueprint.route("/ratelimit", methods=["PUT", "PATCH"])
@requires(ADMIN)
@blueprint.arguments(SettingsSchema)
@answers()
def ratelimit_configure(args: dict):
    """Change rate-limit settings"""
    return _controls().rate_limits.configure(args)


@blueprint.route("/ratelimit", methods=["DELETE"])
@requires(ADMIN)
@answers()
def ratelimit_reset():
    """Rate limits back to configuration"""
    return _controls().rate_limits.reset()


# --- everything at once -------------------------------------------------------------------------
@blueprint.route("/controls/reset", methods=["POST"])
@requires(ADMIN)
@answers()
def controls_reset():
    """Reset faults, clock, journal and rate limits"""
    return _controls().reset()
