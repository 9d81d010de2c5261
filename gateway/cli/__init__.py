"""The ``gateway`` command: database, demo data, fixtures and captures, reset, the simulator, API accounts,
TLS, the emulator controls.

A plain click group: it imports no Flask, SQLAlchemy, lxml, Authlib or gunicorn, so ``gateway --help`` is
quick; each command imports what it uses and builds the gateway's services on first use
(gateway/cli/context.py). Errors are one or two lines naming what to fix (``--debug``: the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from gateway.cli.capture import capture as capture_command
from gateway.cli.context import CliError, CliState, config, services
from gateway.cli.controls import COMMANDS as CONTROL_COMMANDS
from gateway.cli.controls import controlled
from gateway.cli.errors import describe
from gateway.cli.progress import QUIET, progress, shown
from gateway.cli.serve import serve

#: The command API permissions (gateway.oauth.models.COMMAND_PERMISSIONS, which a test keeps equal), here so
#: that --help needs no import of the OAuth modules.
COMMAND_PERMISSIONS = ("full_access", "read_only", "deny")


def _fail(message: str) -> NoReturn:
    raise CliError(message)


def _print_credentials(creds: Any, as_json: bool, verb: str, *, secret_given: bool = False) -> None:
    """Print new credentials; a secret the caller gave is known to them and never echoed."""
    if as_json:
        public = creds.public()
        if secret_given:
            del public["client_secret"]
        click.echo(json.dumps(public))
        return
    click.echo(f"{verb} API account {creds.account.name!r} ({creds.account.permission}).")
    click.echo(f"  client_id:     {creds.account.client_id}")
    if secret_given:
        click.echo("  client_secret: (as given; the gateway keeps only its hash)")
        return
    click.echo(f"  client_secret: {creds.client_secret}")
    click.echo("The secret is shown only now; the gateway keeps only its hash.")


class GatewayGroup(click.Group):
    """Any exception a command lets out becomes one or two lines and a non-zero exit status (click's own
    usage errors stay as they are); with ``--debug`` it is raised with its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`gateway clients dump - | head`): stop quietly, as other tools do;
            # standard output goes to /dev/null so that flushing it at exit raises nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(1) from None
        except Exception as exc:
            current = ctx.find_object(CliState)
            if current is not None and current.debug:
                raise
            raise CliError(describe(exc, current.database_url() if current else None)) from None


@click.group(cls=GatewayGroup)
@click.version_option(package_name="connected-clients-gateway", prog_name="gateway")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """connected-clients gateway: a BeyondTrust command API emulator.

    Settings come from GATEWAY_* environment variables (e.g. GATEWAY_DATABASE_URL, default
    sqlite:///var/gateway.db, relative to the current folder). Start with `gateway db upgrade`.
    """
    obj = ctx.obj
    if not isinstance(obj, CliState):
        # Flask's test runner (app.test_cli_runner()) hands in its ScriptInfo: use that app's services.
        obj = CliState(load_app=getattr(obj, "load_app", None))
        ctx.obj = obj
    obj.debug = obj.debug or debug
    ctx.call_on_close(obj.close)
    from gateway.config import unknown_names  # the standard library only: --help stays light

    for name in unknown_names():
        click.echo(
            f"Warning: {name} is no setting of the gateway and is ignored (docs/configuration.md).", err=True
        )


for _command in CONTROL_COMMANDS:  # faults, clock, journal, ratelimit, controls (gateway/cli/controls.py)
    main.add_command(_command)
main.add_command(serve)  # gateway serve (gateway/cli/serve.py: imports what it runs when it runs)


# --------------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The registry database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision (creates an SQLite file if needed)."""
    from gateway.cli.context import database_name
    from gateway.storage import migrate

    store = services(create=True).store
    before = migrate.current_revision(store)
    migrate.upgrade(store)
    after = migrate.current_revision(store)
    where = database_name(config()["DATABASE_URL"])
    if before == after:
        click.echo(f"Database {where} is up to date (revision {after}).")
    else:
        click.echo(f"Database {where} upgraded from {before or 'empty'} to revision {after}.")


@db.command("init")
@click.pass_context
def db_init(ctx: click.Context) -> None:
    """Create the schema (same as upgrade; safe to run again)."""
    ctx.invoke(db_upgrade)


# --------------------------------------------------------------------------------------------
@main.group()
def demo() -> None:
    """The demo population."""


@demo.command("load")
@click.option("--replace", is_flag=True, help="Replace the current appliances and clients.")
@click.option(
    "--seed", default=2026, show_default=True, help="Seed of the generator (same seed, same population)."
)
def demo_load(replace: bool, seed: int) -> None:
    """Load a three-appliance cluster with representatives, customers, attendees and Jumpoints (once)."""
    from gateway.seeding import demo as demo_population

    svc = services()
    existing = svc.registry.count()
    if existing and not replace:
        click.echo(
            f"The registry already holds {existing} connected clients; kept them (use --replace to reload)."
        )
        return
    appliances, clients = demo_population.load(svc.registry, svc.sessions, svc.clock.now_int(), seed=seed)
    counts: dict[str, int] = {}
    for client in clients:
        counts[client.type.value] = counts.get(client.type.value, 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    click.echo(f"Loaded {appliances} appliances and {len(clients)} clients ({summary}).")


# --------------------------------------------------------------------------------------------
@main.group()
def clients() -> None:
    """The registry's clients: fixture files (YAML, JSON) and captures of real appliances."""


FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), help="File format (default: from the file name)."
)


@clients.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--merge",
    is_flag=True,
    help=(
        "Connect the fixture's clients beside the current ones (default: the fixture replaces the registry)."
    ),
)
@FORMAT
@QUIET
def clients_load(file: Path, merge: bool, fmt: str | None, quiet: bool) -> None:
    """Load a fixture file (API accounts stay). The file is read as a stream and written in batches, in
    one transaction: a problem anywhere in it changes nothing, and every problem is listed."""
    from gateway.errors import GatewayError
    from gateway.registry.operations import Connect
    from gateway.seeding import fixtures

    registry = services().registry
    if not file.is_file():
        _fail(f"{file}: no such fixture file.")
    if merge:
        fixture = fixtures.read(file, fmt)
        try:
            registry.apply([Connect(c) for c in fixture.clients])
        except GatewayError as exc:
            index = exc.operation
            _fail(f"{file}: clients.{index}: {exc.message}" if index is not None else exc.message)
        registry.upsert_appliances(fixture.appliances)
        appliances, count = len(fixture.appliances), len(fixture.clients)
    else:
        with progress(f"Loading {file.name}", file.stat().st_size, quiet=quiet) as advance:
            appliances, count = fixtures.load(registry, file, fmt, advance=advance)
    verb = "Added" if merge else "Loaded"
    click.echo(f"{verb} {appliances} appliances and {count} clients from {file}.")


@clients.command("dump")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@FORMAT
@QUIET
def clients_dump(file: str, fmt: str | None, quiet: bool) -> None:
    """Write the appliances and connected clients as a fixture ("-": standard output, YAML unless
    --format); written batch by batch."""
    from gateway.seeding import fixtures

    svc = services()
    appliances = svc.registry.appliances()
    total = svc.registry.count()
    batches = svc.store.registry.iter_clients(with_events=True)
    if file == "-":
        for _ in fixtures.write_stream(sys.stdout, appliances, batches, fmt or "yaml"):
            pass
        return
    path = Path(file)
    fmt = fixtures.format_of(path, fmt)
    written = 0
    with (
        path.open("w", encoding="utf-8") as out,
        progress(f"Dumping to {path.name}", total, quiet=quiet) as bar,
    ):
        for count in fixtures.write_stream(out, appliances, batches, fmt):
            written += count
            bar(count)
    click.echo(f"Wrote {len(appliances)} appliances and {written} clients to {file}.")


@clients.command("import-xml")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--merge",
    is_flag=True,
    help="Connect the captured clients beside the current ones "
    "(default: they replace the registry's clients; appliances stay).",
)
@QUIET
def clients_import_xml(file: Path, merge: bool, quiet: bool) -> None:
    """Import a get_connected_clients capture of a real appliance (include_connections=1, any namespace)."""
    from gateway.errors import GatewayError
    from gateway.seeding.imports import import_capture

    registry = services().registry
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"{file}: cannot be read ({exc.strerror or exc}).")
    try:
        with progress(f"Importing {file.name}", 3, quiet=quiet) as advance:
            result = import_capture(
                registry, data, replace=not merge, max_bytes=config()["FEED_MAX_BODY"], advance=advance
            )
    except GatewayError as exc:
        _fail(f"{file}: {exc.message}")
    created = (
        f"; placeholder appliances for {', '.join(result.appliances_created)}"
        if result.appliances_created
        else ""
    )
    click.echo(f"Imported {result.clients} clients from {file} ({result.namespace}){created}.")


clients.add_command(capture_command)


# --------------------------------------------------------------------------------------------
@main.group()
def registry() -> None:
    """Reset and seed the registry (for tests)."""


@registry.command("reset")
@click.option(
    "--fixture", default="empty", show_default=True, help="A named fixture (see `gateway registry fixtures`)."
)
@click.option("--drop-accounts", is_flag=True, help="Also delete every API account and token.")
@controlled
def registry_reset(backend, fixture: str, drop_accounts: bool) -> None:
    """Clear the registry and load a named fixture, in one transaction (--url: on a running gateway)."""
    result = backend.registry_reset(fixture, drop_accounts)
    click.echo(
        f"Reset the registry to fixture {fixture!r}: {result['appliances']} appliances, "
        f"{result['clients']} clients; API accounts {result['accounts']}."
    )


@registry.command("fixtures")
def registry_fixtures() -> None:
    """List the named fixtures."""
    from gateway.seeding import fixtures

    for name in fixtures.names(config()["FIXTURES_DIR"]):
        click.echo(name)


# --------------------------------------------------------------------------------------------
@main.command("simulate")
@click.option("--seed", default=1, show_default=True, help="Same seed, start and rate: the same writes.")
@click.option(
    "--rate",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Steps per second (each step is one feed batch).",
)
@click.option("--steps", type=click.IntRange(min=1), help="Stop after this many steps.")
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many simulated seconds.")
@click.option("--start", type=int, help="Simulated time of the first step, UNIX seconds (default: now).")
@click.option("--fast", is_flag=True, help="Do not wait between steps (the simulated times stay the same).")
@click.option("--url", help="A remote gateway to feed over HTTP (default: this gateway's database).")
@click.option(
    "--client-id",
    envvar="GATEWAY_FEED_CLIENT_ID",
    help="Feed account for --url [env GATEWAY_FEED_CLIENT_ID].",
)
@click.option(
    "--client-secret",
    envvar="GATEWAY_FEED_CLIENT_SECRET",
    help="Its secret [env GATEWAY_FEED_CLIENT_SECRET].",
)
@click.option(
    "--sessions",
    is_flag=True,
    help="Also drive support sessions: keys redeemed, transfers, terminations (with --url, the account "
    "needs full_access as well as the feed permission).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Only print the summary (also when the output is not a terminal)."
)
def simulate(
    seed: int,
    rate: float,
    steps: int | None,
    duration: float | None,
    start: int | None,
    fast: bool,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    sessions: bool,
    quiet: bool,
) -> None:
    """Drive realistic churn: representatives log in and out, customers queue and join sessions,
    attendees watch presentations, Jumpoints stay up, traffic nodes fail.

    On a terminal: a progress bar when the number of steps is known, else one line per step; otherwise
    (and with --quiet or --fast) only the summary."""
    import time

    from gateway.seeding.simulator import Simulator
    from gateway.seeding.sinks import HttpSink, LocalSink, SimulationError, run

    sink: HttpSink | LocalSink
    if url:
        if not (client_id and client_secret):
            _fail("--url needs --client-id and --client-secret of an account with the feed permission.")
        sink = HttpSink(url, client_id, client_secret)
        now = int(time.time())
    else:
        svc = services()
        sink = LocalSink(svc.registry, svc.sessions)
        now = svc.clock.now_int()
    start = now if start is None else start
    if duration is not None:
        steps = max(1, int(duration * rate)) if steps is None else min(steps, max(1, int(duration * rate)))
    lines = shown(quiet) and steps is None and not fast

    try:
        with progress("Simulating", steps or 0, quiet=quiet or steps is None) as advance:

            def report(step: Any, counts: Any) -> None:
                advance(1)
                if lines:
                    click.echo(
                        f"{step.number:>6} {step.ts} {step.action:<18} {len(step.operations)} operation(s)"
                    )

            counts = run(
                Simulator(seed, start, rate, sessions=sessions),
                sink,
                steps=steps,
                pace=not fast,
                report=report,
            )
    except SimulationError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo("Interrupted.")
        return
    operations = counts.pop("operations", 0)
    calls = counts.pop("session_calls", 0)
    done = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    extra = f", {calls} session calls" if calls else ""
    click.echo(f"Simulated {sum(counts.values())} steps ({operations} feed operations{extra}): {done}.")


# --------------------------------------------------------------------------------------------
@main.group()
def accounts() -> None:
    """API accounts (OAuth client credentials)."""


@accounts.command("create")
@click.argument("name")
@click.option(
    "--permission",
    type=click.Choice(COMMAND_PERMISSIONS),
    default="read_only",
    show_default=True,
    help="Command API permission.",
)
@click.option("--feed", is_flag=True, help="May write the registry through the feed API.")
@click.option("--admin", is_flag=True, help="May use the admin surface (reset, faults, clock, journal).")
@click.option("--legacy-login", is_flag=True, help="Also accept username=NAME&password=SECRET parameters.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--client-id", help="Use this client id instead of a generated one (known credentials for CI).")
@click.option(
    "--client-secret",
    envvar="GATEWAY_NEW_CLIENT_SECRET",
    help="Use this secret (16+ characters) instead of a generated one; also from GATEWAY_NEW_CLIENT_SECRET. "
    "It is stored hashed and not printed.",
)
def accounts_create(
    name: str,
    permission: str,
    feed: bool,
    admin: bool,
    legacy_login: bool,
    as_json: bool,
    client_id: str | None,
    client_secret: str | None,
) -> None:
    """Create an API account and print its client id and secret (once)."""
    from gateway.errors import GatewayError

    try:
        creds = services().accounts.create(
            name,
            permission,
            legacy_login=legacy_login,
            feed=feed,
            admin=admin,
            client_id=client_id,
            secret=client_secret,
        )
    except (ValueError, GatewayError) as exc:
        _fail(str(exc))
    _print_credentials(creds, as_json, "Created", secret_given=client_secret is not None)


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def accounts_list(as_json: bool) -> None:
    """List API accounts (never their secrets)."""
    svc = services()
    items = svc.accounts.list()
    if as_json:
        click.echo(
            json.dumps(
                [a.public() | {"valid_tokens": svc.accounts.valid_token_count(a.client_id)} for a in items]
            )
        )
        return
    if not items:
        click.echo("No API accounts yet: gateway accounts create NAME")
        return
    click.echo(f"{'NAME':<24} {'CLIENT ID':<42} {'COMMAND':<12} {'FEED':<5} {'ADMIN':<6} {'STATE':<9} TOKENS")
    for a in items:
        state = "enabled" if a.enabled else "disabled"
        flags = f"{'yes' if a.feed else 'no':<5} {'yes' if a.admin else 'no':<6}"
        tokens = svc.accounts.valid_token_count(a.client_id)
        click.echo(f"{a.name:<24} {a.client_id:<42} {a.permission:<12} {flags} {state:<9} {tokens}")


@accounts.command("disable")
@click.argument("name")
def accounts_disable(name: str) -> None:
    """Disable an account; all its tokens stop working at once."""
    account = services().accounts.set_enabled(name, False)
    click.echo(f"Disabled {account.name!r}; its tokens are revoked.")


@accounts.command("enable")
@click.argument("name")
def accounts_enable(name: str) -> None:
    """Enable a disabled account (it needs new tokens)."""
    account = services().accounts.set_enabled(name, True)
    click.echo(f"Enabled {account.name!r}.")


@accounts.command("set-permission")
@click.argument("name")
@click.option(
    "--command", "command_permission", type=click.Choice(COMMAND_PERMISSIONS), help="Command API permission."
)
@click.option("--feed/--no-feed", default=None, help="May write the registry through the feed API.")
@click.option("--admin/--no-admin", default=None, help="May use the admin surface.")
def accounts_set_permission(
    name: str, command_permission: str | None, feed: bool | None, admin: bool | None
) -> None:
    """Change an account's permissions; its live tokens follow at once."""
    a = services().accounts.set_permissions(name, command=command_permission, feed=feed, admin=admin)
    feed_text, admin_text = ("yes" if a.feed else "no"), ("yes" if a.admin else "no")
    click.echo(f"{a.name!r}: command {a.permission}, feed {feed_text}, admin {admin_text}.")


@accounts.command("regenerate-secret")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def accounts_regenerate_secret(name: str, as_json: bool) -> None:
    """Give an account a new secret; every token issued before stops working."""
    creds = services().accounts.regenerate_secret(name)
    _print_credentials(creds, as_json, "Regenerated the secret of")


@accounts.command("demo")
@click.option("--name", default="demo", show_default=True)
@click.option(
    "--file", "path", default="var/demo-credentials.json", show_default=True, type=click.Path(dir_okay=False)
)
def accounts_demo(name: str, path: str) -> None:
    """Make sure the read_only demo account exists and print its credentials.

    GATEWAY_DEMO_CLIENT_ID / GATEWAY_DEMO_CLIENT_SECRET fix them (CI); a generated secret is kept in a 0600
    file beside the database so that every start can print it again; no other secret is ever written in
    clear.
    """
    from gateway.cli import bootstrap

    settings = config()
    made = bootstrap.demo_account(
        services(), name, path, settings["DEMO_CLIENT_ID"], settings["DEMO_CLIENT_SECRET"]
    )
    for line in made.lines():
        click.echo(line)


# --------------------------------------------------------------------------------------------
@main.group()
def tls() -> None:
    """TLS certificates for https://."""


@tls.command("init")
@click.option("--dir", "directory", default="var/tls", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--name", "names", multiple=True, help="Host names or IPs of the server certificate (repeatable)."
)
def tls_init(directory: str, names: tuple[str, ...]) -> None:
    """Create a private CA and a server certificate for localhost, 127.0.0.1 and ::1."""
    from gateway import tls as tls_module

    files = tls_module.init(Path(directory), names or tls_module.DEFAULT_NAMES)
    click.echo(f"Created a CA ({files.ca_cert}) and a server certificate ({files.cert}). Serve HTTPS with:")
    click.echo(f"  export GATEWAY_TLS_CERT={files.cert} GATEWAY_TLS_KEY={files.key}")
    click.echo("and make clients trust it with:")
    click.echo(f"  export REQUESTS_CA_BUNDLE={files.ca_cert.resolve()}    # Python requests")
    click.echo(f"  curl --cacert {files.ca_cert} https://localhost:8080/check_health")
