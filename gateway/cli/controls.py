"""CLI of the emulator controls: ``gateway faults``, ``gateway clock``, ``gateway journal``, ``gateway
ratelimit``, ``gateway controls reset``.

By default they change the shared state in the database, so a running gateway (every worker, every
node) follows from its next request. With ``--url`` (and an admin account's ``--client-id`` and
``--client-secret``, or GATEWAY_ADMIN_URL, GATEWAY_ADMIN_CLIENT_ID, GATEWAY_ADMIN_CLIENT_SECRET) they
drive a running gateway through its admin API instead, as the pytest plugin does (one client module,
gateway.admin_client). Flask and the storage are imported only when a command runs locally.
"""

from __future__ import annotations

import functools
import json
import time

import click

from gateway.admin_client import AdminCallError, AdminClient, Credentials, explain
from gateway.errors import GatewayError

FACES = ("command", "oauth", "json")


def _echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


# --- where the controls are: this gateway's database, or a running gateway's admin API ----------------
class LocalControls:
    """The controls of the configured database (the app's services)."""

    def __init__(self, services):
        self.controls = services.controls
        self.services = services

    def faults_add(self, rule: dict) -> dict:
        return self.controls.faults.add(rule)

    def faults_list(self) -> list[dict]:
        return self.controls.faults.list()

    def faults_delete(self, rule_id: int) -> bool:
        return self.controls.faults.delete(rule_id)

    def faults_clear(self) -> int:
        return self.controls.faults.clear()

    def clock(self, operation: str, body: dict | None = None) -> dict:
        from gateway.controls.clock import SetSchema
        from gateway.registry.validation import load_object

        clock = self.controls.clock_control
        if operation == "advance":
            return clock.advance(float((body or {})["seconds"]))
        if operation == "set":
            args = load_object(SetSchema(), body)
            return clock.set(args["time"], args.get("frozen"))
        return getattr(clock, {"show": "describe"}.get(operation, operation))()

    def journal_page(self, **query) -> dict:
        from gateway.controls.journal import QuerySchema
        from gateway.registry.validation import load_object

        return self.controls.journal.query(**load_object(QuerySchema(), query))

    def journal_count(self, **filters) -> int:
        from gateway.controls.journal import FilterSchema
        from gateway.registry.validation import load_object

        return self.controls.journal.count(**load_object(FilterSchema(), filters))["count"]

    def journal_wait(self, count: int, timeout: float, **filters) -> dict:
        """Waits longer than the gateway's cap (GATEWAY_JOURNAL_WAIT_MAX_SECONDS) are several waits, as
        the admin-API client makes them."""
        from gateway.controls.journal import WaitSchema
        from gateway.registry.validation import load_object

        journal = self.controls.journal
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            part = min(remaining, journal.wait_max)
            args = load_object(WaitSchema(), {**filters, "count": count, "timeout": part})
            answer = journal.wait(**args)
            if answer["satisfied"] or part >= remaining or not answer["enabled"]:
                answer["waited"] = round(timeout - remaining + answer["waited"], 3)
                return answer

    def journal_clear(self) -> int:
        return self.controls.journal.clear()

    def ratelimit(self, change: dict | None = None, reset: bool = False) -> dict:
        limits = self.controls.rate_limits
        if reset:
            return limits.reset()
        return limits.configure(change) if change is not None else limits.describe()

    def controls_reset(self) -> dict:
        return self.controls.reset()

    def registry_reset(self, fixture: str, drop_accounts: bool) -> dict:
        from gateway.cli.context import config
        from gateway.seeding import fixtures

        return fixtures.reset(
            self.services.registry,
            fixture,
            drop_accounts=drop_accounts,
            configured=config()["FIXTURES_DIR"],
            sessions=self.services.sessions,
        )


class RemoteControls:
    """The controls of a running gateway, through its admin API."""

    def __init__(self, client: AdminClient):
        self.client = client
        self.call = client.admin_call

    def faults_add(self, rule: dict) -> dict:
        return self.call("POST", "/faults", rule)

    def faults_list(self) -> list[dict]:
        return self.call("GET", "/faults")["faults"]

    def faults_delete(self, rule_id: int) -> bool:
        return "removed" in self.call("DELETE", f"/faults/{rule_id}", expect=(200, 404))

    def faults_clear(self) -> int:
        return self.call("DELETE", "/faults")["removed"]

    def clock(self, operation: str, body: dict | None = None) -> dict:
        if operation == "show":
            return self.call("GET", "/clock")
        return self.call("POST", f"/clock/{operation}", body)

    def journal_page(self, **query) -> dict:
        return self.client.journal_page(**query)

    def journal_count(self, **filters) -> int:
        return self.client.journal_count(**filters)

    def journal_wait(self, count: int, timeout: float, **filters) -> dict:
        return self.client.journal_wait(count, timeout, **filters)

    def journal_clear(self) -> int:
        return self.call("DELETE", "/journal")["removed"]

    def ratelimit(self, change: dict | None = None, reset: bool = False) -> dict:
        if reset:
            return self.call("DELETE", "/ratelimit")
        return (
            self.call("PUT", "/ratelimit", change) if change is not None else self.call("GET", "/ratelimit")
        )

    def controls_reset(self) -> dict:
        return self.call("POST", "/controls/reset")

    def registry_reset(self, fixture: str, drop_accounts: bool) -> dict:
        return self.call("POST", "/reset", {"fixture": fixture, "keep_accounts": not drop_accounts})


def _local() -> LocalControls:
    """The configured database's services (gateway/cli/context.py: built on first use, no Flask app)."""
    from gateway.cli.context import services

    return LocalControls(services())


REMOTE_OPTIONS = (
    click.option(
        "--url",
        envvar="GATEWAY_ADMIN_URL",
        help="Drive the running gateway at this URL through its admin API [env GATEWAY_ADMIN_URL] "
        "(default: the configured database).",
    ),
    click.option(
        "--client-id",
        envvar="GATEWAY_ADMIN_CLIENT_ID",
        help="Admin account for --url [env GATEWAY_ADMIN_CLIENT_ID].",
    ),
    click.option(
        "--client-secret",
        envvar="GATEWAY_ADMIN_CLIENT_SECRET",
        help="Its secret [env GATEWAY_ADMIN_CLIENT_SECRET].",
    ),
)


def controlled(command):
    """Give ``command`` the remote options and, as its first argument, where the controls are; errors of
    either side become one line."""

    @functools.wraps(command)
    def run(url, client_id, client_secret, **kwargs):
        if url:
            if not (client_id and client_secret):
                raise click.UsageError("--url needs --client-id and --client-secret of an admin account.")
            backend = RemoteControls(AdminClient(url, Credentials("admin", client_id, client_secret)))
        else:
            backend = _local()
        try:
            return command(backend, **kwargs)
        except GatewayError as exc:
            raise click.ClickException(exc.message) from None
        except AdminCallError as exc:
            raise click.ClickException(str(exc)) from None

    for option in reversed(REMOTE_OPTIONS):
        run = option(run)
    return run


# --------------------------------------------------------------------------------------------
@click.group()
def faults() -> None:
    """Injected faults: latency, errors, 429s, dropped or reset connections, truncated, dribbled or malformed
    bodies."""


@faults.command("add")
@click.option(
    "--action", "actions", multiple=True, help="Action name (repeatable); 'token' is the token endpoint."
)
@click.option("--face", type=click.Choice(FACES), help="Only this face.")
@click.option("--account", help="Only requests with this account's credentials (name or client id).")
@click.option("--path", help="Only paths matching this glob, e.g. '/api/command*'.")
@click.option("--latency", help="Added latency in ms: '250' or a uniform range '100-900'.")
@click.option("--error", "status", type=int, help="Answer this HTTP status with an error body.")
@click.option("--message", help="Text of the injected error.")
@click.option("--rate-limit", "retry_after", type=int, help="Answer 429 with this Retry-After (seconds).")
@click.option("--drop", is_flag=True, help="Close the connection without an answer.")
@click.option("--reset", "reset_connection", is_flag=True, help="Reset the connection (TCP RST), no answer.")
@click.option("--truncate", type=float, help="Send only this fraction of the body (0-1), then hang up.")
@click.option("--dribble", type=int, help="Send the body slowly: this many bytes per second.")
@click.option(
    "--malformed",
    type=click.Choice(["cut", "garbage", "empty"]),
    help="Answer a broken body instead: the answer cut in half, a text that is not XML, or nothing (the "
    "status and content type stay).",
)
@click.option("--every", type=int, help="Act on every Nth matching request.")
@click.option("--probability", type=float, help="Act with this probability (0-1).")
@click.option("--seed", type=int, help="Seed of probability and latency ranges (deterministic runs).")
@click.option("--times", type=int, help="Act at most this many times.")
@click.option("--for-seconds", type=float, help="Only for this many seconds of gateway time.")
@click.option(
    "--json", "raw", help="The whole rule as the admin API takes it (JSON); other options are added to it."
)
@controlled
def faults_add(
    backend,
    actions,
    face,
    account,
    path,
    latency,
    status,
    message,
    retry_after,
    drop,
    reset_connection,
    truncate,
    dribble,
    malformed,
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
    if reset_connection:
        rule["reset"] = True
    if truncate is not None:
        rule["truncate"] = {"fraction": truncate}
    if dribble is not None:
        rule["dribble"] = {"bytes_per_second": dribble}
    if malformed is not None:
        rule["malformed"] = {"body": malformed}
    for key, value in (
        ("every", every),
        ("probability", probability),
        ("seed", seed),
        ("times", times),
        ("for_seconds", for_seconds),
    ):
        if value is not None:
            rule[key] = value
    _echo_json(backend.faults_add(rule))


@faults.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@controlled
def faults_list(backend, as_json: bool) -> None:
    """List fault rules with how often they matched and acted."""
    rules = backend.faults_list()
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
@controlled
def faults_clear(backend, rule_id: int | None) -> None:
    """Remove one fault rule, or all of them."""
    if rule_id is None:
        click.echo(f"Removed {backend.faults_clear()} fault rules.")
    elif backend.faults_delete(rule_id):
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
@controlled
def clock_show(backend) -> None:
    """Print the gateway's time."""
    _show_clock(backend.clock("show"))


@clock.command("advance")
@click.argument("seconds", type=float)
@controlled
def clock_advance(backend, seconds: float) -> None:
    """Move the gateway's time by SECONDS (negative: back)."""
    _show_clock(backend.clock("advance", {"seconds": seconds}))


@clock.command("set")
@click.argument("instant")
@click.option("--freeze", is_flag=True, help="Also stop time there.")
@controlled
def clock_set(backend, instant: str, freeze: bool) -> None:
    """Set the gateway's time to INSTANT (UNIX seconds or ISO 8601 with an offset)."""
    _show_clock(backend.clock("set", {"time": instant, **({"frozen": True} if freeze else {})}))


@clock.command("freeze")
@controlled
def clock_freeze(backend) -> None:
    """Stop the gateway's time where it is."""
    _show_clock(backend.clock("freeze"))


@clock.command("unfreeze")
@controlled
def clock_unfreeze(backend) -> None:
    """Let the gateway's time run again."""
    _show_clock(backend.clock("unfreeze"))


@clock.command("reset")
@controlled
def clock_reset(backend) -> None:
    """Back to the system clock."""
    _show_clock(backend.clock("reset"))


# --------------------------------------------------------------------------------------------
@click.group()
def journal() -> None:
    """The request journal: one entry per API call; show, count and wait for entries."""


FILTER_OPTIONS = (
    click.option("--action", help="Command action, 'token', or a JSON endpoint's name."),
    click.option("--account", help="Client id of the calling account."),
    click.option("--face", type=click.Choice(FACES)),
    click.option("--status", type=int, help="HTTP status."),
    click.option("--method", type=str.upper),
    click.option("--path", help="Exact path, e.g. /api/command."),
    click.option("--request-id"),
    click.option("--fault", help="Kind of injected fault (error, drop, latency, ...)."),
    click.option("--error", help="Only answers whose error text contains this."),
    click.option(
        "--has-error/--no-error", default=None, help="Only answers that carried an error (or none)."
    ),
    click.option("--since", help="Gateway time, UNIX seconds or ISO 8601."),
)


def filtered(command):
    """Add the journal's filter options, handed to ``command`` as one ``filters`` dict."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        names = ("action", "account", "face", "status", "method", "path", "request_id", "fault", "error")
        filters = {name: kwargs.pop(name) for name in (*names, "has_error", "since")}
        return command(*args, filters={k: v for k, v in filters.items() if v is not None}, **kwargs)

    for option in reversed(FILTER_OPTIONS):
        run = option(run)
    return run


def _row(e: dict) -> str:
    return (
        f"{e['seq']:>6} {e['time']} {e['method']:<6} {e['path']:<18} {e['action'] or '-'!s:<28} "
        f"{e['status'] if e['status'] is not None else 'dropped'!s:<7} {e['duration_ms']:>8.1f} ms "
        f"{e['account'] or '-'}{'  fault=' + e['fault'] if e['fault'] else ''}"
        f"{'  error=' + repr(e['error'][:120]) if e.get('error') else ''}"
    )


def _print_entries(entries: list[dict]) -> None:
    for e in entries:
        click.echo(_row(e))


@journal.command("show")
@filtered
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--after", type=click.IntRange(0), default=0, help="Only entries after this seq.")
@click.option("--tail", type=click.IntRange(1, 1000), help="The newest N matching entries.")
@click.option("--follow", "-f", is_flag=True, help="Then print new entries as they come (Ctrl-C stops).")
@click.option(
    "--max-entries", type=click.IntRange(1), help="With --follow: stop once this many entries were printed."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the entries as JSON (one array; with --follow, lines)."
)
@controlled
def journal_show(backend, filters, limit, after, tail, follow, max_entries, as_json) -> None:
    """Print journal entries, oldest first, and say when more match than were shown."""
    if tail is not None:
        page = backend.journal_page(limit=tail, tail=True, after=after, **filters)
    else:
        page = backend.journal_page(limit=limit, after=after, **filters)
    entries = page["entries"]
    if not page["enabled"]:
        click.echo("The journal is off (GATEWAY_JOURNAL=false).", err=True)
    if as_json and not follow:
        _echo_json(entries)
    elif as_json:
        for e in entries:
            click.echo(json.dumps(e, sort_keys=True))
    else:
        _print_entries(entries)
    total = page.get("total", len(entries))
    if total > len(entries) and not follow:
        if tail is not None:
            more = f"{total - len(entries)} older matching entries not shown (raise --tail)."
        else:
            more = f"{total - len(entries)} more matching entries: --after {entries[-1]['seq']}, or --tail N."
        click.echo(f"Showed {len(entries)} of {total} matching entries; {more}", err=True)
    if not follow:
        return
    printed = len(entries)
    cursor = entries[-1]["seq"] if entries else _newest_seq(backend, after)
    try:
        while max_entries is None or printed < max_entries:
            if not backend.journal_wait(1, 30.0, after=cursor, **filters)["satisfied"]:
                continue
            new = backend.journal_page(limit=1000, after=cursor, **filters)["entries"]
            if max_entries is not None:
                new = new[: max_entries - printed]
            for e in new:
                click.echo(json.dumps(e, sort_keys=True) if as_json else _row(e))
            printed += len(new)
            cursor = new[-1]["seq"] if new else cursor
    except KeyboardInterrupt:
        return


def _newest_seq(backend, after: int) -> int:
    newest = backend.journal_page(limit=1, tail=True, after=after)["entries"]
    return newest[-1]["seq"] if newest else after


def _fail_verification(backend, expected, count, filters, wanted=None, waited=None):
    found = backend.journal_page(limit=1000, **filters)["entries"]
    recent = backend.journal_page(limit=200, tail=True)["entries"]
    message = explain(expected, count, filters, found, recent, wanted=wanted, waited=waited)
    click.echo(message, err=True)
    raise SystemExit(1)


@journal.command("count")
@filtered
@click.option("--after", type=click.IntRange(0), help="Only entries after this seq.")
@click.option(
    "--expect", type=click.IntRange(0), help="Exit 1, explaining, unless exactly this many match (CI checks)."
)
@controlled
def journal_count(backend, filters, after, expect) -> None:
    """Print how many journal entries match."""
    if after is not None:
        filters["after"] = after
    count = backend.journal_count(**filters)
    click.echo(count)
    if expect is not None and count != expect:
        _fail_verification(backend, expect, count, filters)


@journal.command("wait")
@click.argument("count", type=click.IntRange(0))
@filtered
@click.option("--after", type=click.IntRange(0), help="Only entries after this seq.")
@click.option("--timeout", type=click.FloatRange(0), default=10.0, show_default=True, help="Seconds.")
@controlled
def journal_wait(backend, count, filters, after, timeout) -> None:
    """Wait until at least COUNT journal entries match (the gateway answers as soon as they are there);
    exit 1, explaining, after --timeout seconds."""
    if after is not None:
        filters["after"] = after
    started = time.monotonic()
    answer = backend.journal_wait(count, timeout, **filters)
    if not answer["satisfied"]:
        _fail_verification(backend, count, answer["count"], filters, f"at least {count}", timeout)
    click.echo(f"{answer['count']} matching entries (waited {time.monotonic() - started:.2f} s).")


@journal.command("clear")
@controlled
def journal_clear(backend) -> None:
    """Empty the journal."""
    click.echo(f"Removed {backend.journal_clear()} journal entries.")


# --------------------------------------------------------------------------------------------
@click.group()
def ratelimit() -> None:
    """Per-account rate limits (429 with Retry-After)."""


@ratelimit.command("show")
@controlled
def ratelimit_show(backend) -> None:
    _echo_json(backend.ratelimit())


@ratelimit.command("set")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--per-second", type=int)
@click.option("--per-hour", type=int)
@controlled
def ratelimit_set(backend, enabled, per_second, per_hour) -> None:
    """Override the configured limits for every worker (until `ratelimit reset`)."""
    changes = {
        k: v
        for k, v in (("enabled", enabled), ("per_second", per_second), ("per_hour", per_hour))
        if v is not None
    }
    _echo_json(backend.ratelimit(changes))


@ratelimit.command("reset")
@controlled
def ratelimit_reset(backend) -> None:
    """Back to the configured limits, every counter at zero."""
    _echo_json(backend.ratelimit(reset=True))


# --------------------------------------------------------------------------------------------
@click.group()
def controls() -> None:
    """All emulator controls at once."""


@controls.command("reset")
@controlled
def controls_reset(backend) -> None:
    """No faults, the system clock, an empty journal, configured rate limits with fresh counters."""
    _echo_json(backend.controls_reset())


COMMANDS = (faults, clock, journal, ratelimit, controls)
