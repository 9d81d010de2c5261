"""CLI of the emulator controls: ``gateway faults``, ``gateway clock``, ``gateway journal``, ``gateway
ratelimit``, ``gateway controls reset``. They change the shared state in the database, so a running
gateway (every worker, every node) follows from its next request."""

from __future__ import annotations

import json

import click

from gateway.cli.context import services, with_appcontext
from gateway.errors import GatewayError


def _echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def _run(operation):
    try:
        return operation()
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None


# --------------------------------------------------------------------------------------------
@click.group()
def faults() -> None:
    """Injected faults: latency, errors, 429s, dropped connections, truncated bodies."""


@faults.command("add")
@click.option(
    "--action", "actions", multiple=True, help="Action name (repeatable); 'token' is the token endpoint."
)
@click.option("--face", type=click.Choice(["command", "oauth", "json"]), help="Only this face.")
@click.option("--account", help="Only requests with this account's credentials (name or client id).")
@click.option("--path", help="Only paths matching this glob, e.g. '/api/command*'.")
@click.option("--latency", help="Added latency in ms: '250' or a uniform range '100-900'.")
@click.option("--error", "status", type=int, help="Answer this HTTP status with an error body.")
@click.option("--message", help="Text of the injected error.")
@click.option("--rate-limit", "retry_after", type=int, help="Answer 429 with this Retry-After (seconds).")
@click.option("--drop", is_flag=True, help="Close the connection without an answer.")
@click.option("--truncate", type=float, help="Send only this fraction of the body (0-1), then hang up.")
@click.option("--every", type=int, help="Act on every Nth matching request.")
@click.option("--probability", type=float, help="Act with this probability (0-1).")
@click.option("--seed", type=int, help="Seed of probability and latency ranges (deterministic runs).")
@click.option("--times", type=int, help="Act at most this many times.")
@click.option("--for-seconds", type=float, help="Only for this many seconds of gateway time.")
@click.option(
    "--json", "raw", help="The whole rule as the admin API takes it (JSON); other options are added to it."
)
@with_appcontext
def faults_add(
    actions,
    face,
    account,
    path,
    latency,
    status,
    message,
    retry_after,
    drop,
    truncate,
    every,
    probability,
    seed,
    times,
    for_seconds,
    raw,
) -> None:
    """Add a fault rule and print it."""
    try:
        rule = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--json") from None
    if not isinstance(rule, dict):
        raise click.BadParameter("a rule is a JSON object", param_hint="--json")
    match = rule.setdefault("match", {})
    for key, value in (
        ("action", list(actions) or None),
        ("face", face),
        ("account", account),
        ("path", path),
    ):
        if value is not None:
            match[key] = value
    if latency is not None:
        low, _, high = latency.partition("-")
        try:
            rule["latency"] = {"min_ms": int(low), "max_ms": int(high)} if high else {"ms": int(low)}
        except ValueError:
            raise click.BadParameter(
                "give milliseconds, e.g. 250 or 100-900", param_hint="--latency"
            ) from None
    if status is not None:
        rule["error"] = {"status": status, **({"message": message} if message else {})}
    if retry_after is not None:
        rule["rate_limit"] = {"retry_after": retry_after}
    if drop:
        rule["drop"] = True
    if truncate is not None:
        rule["truncate"] = {"fraction": truncate}
    for key, value in (
        ("every", every),
        ("probability", probability),
        ("seed", seed),
        ("times", times),
        ("for_seconds", for_seconds),
    ):
        if value is not None:
            rule[key] = value
    _echo_json(_run(lambda: services().controls.faults.add(rule)))


@faults.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@with_appcontext
def faults_list(as_json: bool) -> None:
    """List fault rules with how often they matched and acted."""
    rules = services().controls.faults.list()
    if as_json:
        _echo_json(rules)
        return
    if not rules:
        click.echo("No fault rules.")
        return
    for rule in rules:
        shown = {k: v for k, v in rule.items() if k not in ("id", "matched", "fired", "created_at", "state")}
        click.echo(
            f"#{rule['id']} {rule['state']:<7} matched {rule['matched']:<6} fired {rule['fired']:<6} "
            f"{json.dumps(shown, sort_keys=True)}"
        )


@faults.command("clear")
@click.argument("rule_id", type=int, required=False)
@with_appcontext
def faults_clear(rule_id: int | None) -> None:
    """Remove one fault rule, or all of them."""
    controls = services().controls
    if rule_id is None:
        click.echo(f"Removed {controls.faults.clear()} fault rules.")
    elif controls.faults.delete(rule_id):
        click.echo(f"Removed fault rule #{rule_id}.")
    else:
        raise click.ClickException(f"No fault rule has the id {rule_id}.")


# --------------------------------------------------------------------------------------------
@click.group()
def clock() -> None:
    """The gateway's clock (token lifetimes, ts values, the journal), shared by every worker."""


def _show_clock(state: dict) -> None:
    click.echo(
        f"{state['iso']} (ts {int(state['now'])}, offset {state['offset']:+.0f} s"
        f"{', frozen' if state['frozen'] else ''})"
    )


@clock.command("show")
@with_appcontext
def clock_show() -> None:
    """Print the gateway's time."""
    _show_clock(services().controls.clock_control.describe())


@clock.command("advance")
@click.argument("seconds", type=float)
@with_appcontext
def clock_advance(seconds: float) -> None:
    """Move the gateway's time by SECONDS (negative: back)."""
    _show_clock(_run(lambda: services().controls.clock_control.advance(seconds)))


@clock.command("set")
@click.argument("instant")
@click.option("--freeze", is_flag=True, help="Also stop time there.")
@with_appcontext
def clock_set(instant: str, freeze: bool) -> None:
    """Set the gateway's time to INSTANT (UNIX seconds or ISO 8601 with an offset)."""
    from marshmallow import ValidationError

    from gateway.controls.clock import SetSchema
    from gateway.registry.validation import validation_error

    try:
        when = SetSchema().load({"time": instant})["time"]
    except ValidationError as exc:
        raise click.BadParameter(validation_error(exc).message, param_hint="INSTANT") from None
    _show_clock(_run(lambda: services().controls.clock_control.set(when, True if freeze else None)))


@clock.command("freeze")
@with_appcontext
def clock_freeze() -> None:
    """Stop the gateway's time where it is."""
    _show_clock(services().controls.clock_control.freeze())


@clock.command("unfreeze")
@with_appcontext
def clock_unfreeze() -> None:
    """Let the gateway's time run again."""
    _show_clock(services().controls.clock_control.unfreeze())


@clock.command("reset")
@with_appcontext
def clock_reset() -> None:
    """Back to the system clock."""
    _show_clock(services().controls.clock_control.reset())


# --------------------------------------------------------------------------------------------
@click.group()
def journal() -> None:
    """The request journal: one entry per API call."""


@journal.command("show")
@click.option("--action")
@click.option("--account", help="Client id.")
@click.option("--face", type=click.Choice(["command", "oauth", "json"]))
@click.option("--status", type=int)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@with_appcontext
def journal_show(action, account, face, status, limit, as_json) -> None:
    """Print journal entries, oldest first."""
    filters = {
        k: v for k, v in (("action", action), ("account", account), ("face", face), ("status", status)) if v
    }
    page = services().controls.journal.query(limit=limit, **filters)
    if as_json:
        _echo_json(page["entries"])
        return
    if not page["enabled"]:
        click.echo("The journal is off (GATEWAY_JOURNAL=false).")
    for e in page["entries"]:
        click.echo(
            f"{e['seq']:>6} {e['time']} {e['method']:<6} {e['path']:<18} {e['action'] or '-'!s:<28} "
            f"{e['status'] if e['status'] is not None else 'dropped'!s:<7} {e['duration_ms']:>8.1f} ms "
            f"{e['account'] or '-'}{'  fault=' + e['fault'] if e['fault'] else ''}"
        )


@journal.command("clear")
@with_appcontext
def journal_clear() -> None:
    """Empty the journal."""
    click.echo(f"Removed {services().controls.journal.clear()} journal entries.")


# --------------------------------------------------------------------------------------------
@click.group()
def ratelimit() -> None:
    """Per-account rate limits (429 with Retry-After)."""


@ratelimit.command("show")
@with_appcontext
def ratelimit_show() -> None:
    _echo_json(services().controls.rate_limits.describe())


@ratelimit.command("set")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--per-second", type=int)
@click.option("--per-hour", type=int)
@with_appcontext
def ratelimit_set(enabled, per_second, per_hour) -> None:
    """Override the configured limits for every worker (until `ratelimit reset`)."""
    changes = {
        k: v
        for k, v in (("enabled", enabled), ("per_second", per_second), ("per_hour", per_hour))
        if v is not None
    }
    _echo_json(_run(lambda: services().controls.rate_limits.configure(changes)))


@ratelimit.command("reset")
@with_appcontext
def ratelimit_reset() -> None:
    """Back to the configured limits, every counter at zero."""
    _echo_json(services().controls.rate_limits.reset())


# --------------------------------------------------------------------------------------------
@click.group()
def controls() -> None:
    """All emulator controls at once."""


@controls.command("reset")
@with_appcontext
def controls_reset() -> None:
    """No faults, the system clock, an empty journal, configured rate limits with fresh counters."""
    _echo_json(services().controls.reset())


COMMANDS = (faults, clock, journal, ratelimit, controls)
