"""Admin routes of the emulator controls: faults, clock, journal, rate limits, and resetting them all."""

from __future__ import annotations

from gateway.controls.clock import AdvanceSchema, SetSchema
from gateway.controls.faults import FaultRuleSchema
from gateway.controls.journal import QuerySchema
from gateway.controls.ratelimit import SettingsSchema
from gateway.errors import NotFoundError
from gateway.api.auth import ADMIN, requires
from gateway.api.input import json_body, query
from gateway.web import services
from gateway.api.admin import blueprint


def _controls():
    return services().controls


# --- faults -------------------------------------------------------------------------------------
@blueprint.route("/faults", methods=["GET"])
@requires(ADMIN)
def faults_list():
    return {"faults": _controls().faults.list()}


@blueprint.route("/faults", methods=["POST"])
@requires(ADMIN)
def faults_add():
    return _controls().faults.add(json_body(FaultRuleSchema())), 201


@blueprint.route("/faults/<int:rule_id>", methods=["DELETE"])
@requires(ADMIN)
def faults_delete(rule_id: int):
    if not _controls().faults.delete(rule_id):
        raise NotFoundError(f"No fault rule has the id {rule_id}.")
    return {"removed": 1}


@blueprint.route("/faults", methods=["DELETE"])
@requires(ADMIN)
def faults_clear():
    return {"removed": _controls().faults.clear()}


# --- clock --------------------------------------------------------------------------------------
@blueprint.route("/clock", methods=["GET"])
@requires(ADMIN)
def clock_show():
    return _controls().clock_control.describe()


@blueprint.route("/clock/advance", methods=["POST"])
@requires(ADMIN)
def clock_advance():
    return _controls().clock_control.advance(json_body(AdvanceSchema())["seconds"])


@blueprint.route("/clock/set", methods=["POST"])
@requires(ADMIN)
def clock_set():
    args = json_body(SetSchema())
    return _controls().clock_control.set(args["time"], args.get("frozen"))


@blueprint.route("/clock/freeze", methods=["POST"])
@requires(ADMIN)
def clock_freeze():
    return _controls().clock_control.freeze()


@blueprint.route("/clock/unfreeze", methods=["POST"])
@requires(ADMIN)
def clock_unfreeze():
    return _controls().clock_control.unfreeze()


@blueprint.route("/clock/reset", methods=["POST"])
@requires(ADMIN)
def clock_reset():
    return _controls().clock_control.reset()


# --- journal ------------------------------------------------------------------------------------
@blueprint.route("/journal", methods=["GET"])
@requires(ADMIN)
def journal_query():
    return _controls().journal.query(**query(QuerySchema()))


@blueprint.route("/journal", methods=["DELETE"])
@requires(ADMIN)
def journal_clear():
    return {"removed": _controls().journal.clear()}


# --- rate limits --------------------------------------------------------------------------------
@blueprint.route("/ratelimit", methods=["GET"])
@requires(ADMIN)
def ratelimit_show():
    return _controls().rate_limits.describe()


@blueprint.route("/ratelimit", methods=["PUT", "PATCH"])
@requires(ADMIN)
def ratelimit_configure():
    return _controls().rate_limits.configure(json_body(SettingsSchema()))


@blueprint.route("/ratelimit", methods=["DELETE"])
@requires(ADMIN)
def ratelimit_reset():
    return _controls().rate_limits.reset()


# --- everything at once -------------------------------------------------------------------------
@blueprint.route("/controls/reset", methods=["POST"])
@requires(ADMIN)
def controls_reset():
    """No faults, the system clock, an empty journal, configured rate limits with fresh counters."""
    return _controls().reset()
