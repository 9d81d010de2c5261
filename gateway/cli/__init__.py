"""The ``gateway`` command (Flask's click integration): database, demo data, fixtures and captures,
reset, the simulator, API accounts, TLS."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from gateway import create_app
from gateway.cli.controls import COMMANDS as CONTROL_COMMANDS
from gateway.errors import GatewayError
from gateway.oauth.accounts import Credentials
from gateway.oauth.models import COMMAND_PERMISSIONS
from gateway.oauth.secrets import verify_secret
from gateway.registry.model import ClientQuery
from gateway.registry.operations import Connect
from gateway.seeding import demo as demo_population
from gateway.seeding import fixtures
from gateway.storage import migrate
from gateway.web import services


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def _print_credentials(creds: Credentials, as_json: bool, verb: str) -> None:
    if as_json:
        click.echo(json.dumps(creds.public()))
        return
    click.echo(f"{verb} API account {creds.account.name!r} ({creds.account.permission}).")
    click.echo(f"  client_id:     {creds.account.client_id}")
    click.echo(f"  client_secret: {creds.client_secret}")
    click.echo("The secret is shown only now; the gateway keeps only its hash.")


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False)
def main() -> None:
    """connected-clients gateway: a BeyondTrust command API emulator."""


for _command in CONTROL_COMMANDS:  # faults, clock, journal, ratelimit, controls (gateway/controls/cli.py)
    main.add_command(_command)


# --------------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The registry database."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision."""
    store = services().store
    before = migrate.current_revision(store)
    migrate.upgrade(store)
    after = migrate.current_revision(store)
    where = current_app.config["DATABASE_URL"].split("@")[-1]
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
@with_appcontext
def demo_load(replace: bool, seed: int) -> None:
    """Load a three-appliance cluster with representatives, customers, attendees and Jumpoints (once)."""
    svc = services()
    existing = svc.registry.count()
    if existing and not replace:
        click.echo(
            f"The registry already holds {existing} connected clients; kept them (use --replace to reload)."
        )
        return
    appliances, clients = demo_population.build(svc.clock.now_int(), seed=seed)
    svc.registry.replace_population(appliances, clients)
    counts: dict[str, int] = {}
    for client in clients:
        counts[client.type.value] = counts.get(client.type.value, 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    click.echo(f"Loaded {len(appliances)} appliances and {len(clients)} clients ({summary}).")


# --------------------------------------------------------------------------------------------
@main.group()
def clients() -> None:
    """The registry's clients: fixture files (YAML, JSON) and captures of real appliances."""


FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), help="File format (default: from the file name)."
)


@clients.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--merge",
    is_flag=True,
    help=(
        "Connect the fixture's clients beside the current ones (default: the fixture replaces the registry)."
    ),
)
@FORMAT
@with_appcontext
def clients_load(file: Path, merge: bool, fmt: str | None) -> None:
    """Load a fixture file, validated whole before anything is written (API accounts stay)."""
    registry = services().registry
    try:
        fixture = fixtures.read(file, fmt)
        if merge:
            try:
                registry.apply([Connect(c) for c in fixture.clients])
            except GatewayError as exc:
                index = exc.operation
                _fail(f"{file}: clients.{index}: {exc.message}" if index is not None else exc.message)
            registry.upsert_appliances(fixture.appliances)
        else:
            registry.reset(registry.prepare(fixture.appliances, fixture.clients), note={"source": str(file)})
    except GatewayError as exc:
        _fail(exc.message)
    verb = "Added" if merge else "Loaded"
    click.echo(f"{verb} {len(fixture.appliances)} appliances and {len(fixture.clients)} clients from {file}.")


@clients.command("dump")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@FORMAT
@with_appcontext
def clients_dump(file: str, fmt: str | None) -> None:
    """Write the appliances and connected clients as a fixture ("-": standard output, YAML unless
    --format)."""
    svc = services()
    appliances = svc.registry.appliances()
    connected = svc.store.registry.list_clients(ClientQuery(), with_events=True)
    try:
        if file == "-":
            click.echo(fixtures.dumps(appliances, connected, fmt or "yaml"), nl=False)
            return
        fixtures.write(Path(file), appliances, connected, fmt)
    except GatewayError as exc:
        _fail(exc.message)
    click.echo(f"Wrote {len(appliances)} appliances and {len(connected)} clients to {file}.")


@clients.command("import-xml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--merge",
    is_flag=True,
    help="Connect the captured clients beside the current ones "
    "(default: they replace the registry's clients; appliances stay).",
)
@with_appcontext
def clients_import_xml(file: Path, merge: bool) -> None:
    """Import a get_connected_clients capture of a real appliance (include_connections=1, any namespace)."""
    from gateway.seeding.imports import import_capture

    try:
        result = import_capture(
            services().registry,
            file.read_bytes(),
            replace=not merge,
            max_bytes=current_app.config["FEED_MAX_BODY"],
        )
    except GatewayError as exc:
        _fail(f"{file}: {exc.message}")
    created = (
        f"; placeholder appliances for {', '.join(result.appliances_created)}"
        if result.appliances_created
        else ""
    )
    click.echo(f"Imported {result.clients} clients from {file} ({result.namespace}){created}.")


# --------------------------------------------------------------------------------------------
@main.group()
def registry() -> None:
    """Reset and seed the registry (for tests)."""


@registry.command("reset")
@click.option(
    "--fixture", default="empty", show_default=True, help="A named fixture (see `gateway registry fixtures`)."
)
@click.option("--drop-accounts", is_flag=True, help="Also delete every API account and token.")
@with_appcontext
def registry_reset(fixture: str, drop_accounts: bool) -> None:
    """Clear the registry and load a named fixture, in one transaction."""
    try:
        result = fixtures.reset(
            services().registry,
            fixture,
            drop_accounts=drop_accounts,
            configured=current_app.config["FIXTURES_DIR"],
            sessions=services().sessions,
        )
    except GatewayError as exc:
        _fail(exc.message)
    click.echo(
        f"Reset the registry to fixture {fixture!r}: {result['appliances']} appliances, "
        f"{result['clients']} clients; API accounts {result['accounts']}."
    )


@registry.command("fixtures")
@with_appcontext
def registry_fixtures() -> None:
    """List the named fixtures."""
    for name in fixtures.names(current_app.config["FIXTURES_DIR"]):
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
@click.option("--quiet", is_flag=True, help="Only print the summary.")
@with_appcontext
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
    attendees watch presentations, Jumpoints stay up, traffic nodes fail."""
    from gateway.seeding.simulator import Simulator
    from gateway.seeding.sinks import HttpSink, LocalSink, SimulationError, run

    svc = services()
    sink: HttpSink | LocalSink
    if url:
        if not (client_id and client_secret):
            _fail("--url needs --client-id and --client-secret of an account with the feed permission.")
        sink = HttpSink(url, client_id, client_secret)
    else:
        sink = LocalSink(svc.registry, svc.sessions)
    start = svc.clock.now_int() if start is None else start
    if duration is not None:
        steps = max(1, int(duration * rate)) if steps is None else min(steps, max(1, int(duration * rate)))

    def report(step, counts) -> None:
        if not quiet:
            click.echo(f"{step.number:>6} {step.ts} {step.action:<18} {len(step.operations)} operation(s)")

    try:
        counts = run(
            Simulator(seed, start, rate, sessions=sessions), sink, steps=steps, pace=not fast, report=report
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
@with_appcontext
def accounts_create(
    name: str, permission: str, feed: bool, admin: bool, legacy_login: bool, as_json: bool
) -> None:
    """Create an API account and print its client id and secret (once)."""
    try:
        creds = services().accounts.create(
            name, permission, legacy_login=legacy_login, feed=feed, admin=admin
        )
    except (ValueError, GatewayError) as exc:
        _fail(str(exc))
    _print_credentials(creds, as_json, "Created")


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@with_appcontext
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
@with_appcontext
def accounts_disable(name: str) -> None:
    """Disable an account; all its tokens stop working at once."""
    try:
        account = services().accounts.set_enabled(name, False)
    except GatewayError as exc:
        _fail(exc.message)
    click.echo(f"Disabled {account.name!r}; its tokens are revoked.")


@accounts.command("enable")
@click.argument("name")
@with_appcontext
def accounts_enable(name: str) -> None:
    """Enable a disabled account (it needs new tokens)."""
    try:
        account = services().accounts.set_enabled(name, True)
    except GatewayError as exc:
        _fail(exc.message)
    click.echo(f"Enabled {account.name!r}.")


@accounts.command("set-permission")
@click.argument("name")
@click.option(
    "--command", "command_permission", type=click.Choice(COMMAND_PERMISSIONS), help="Command API permission."
)
@click.option("--feed/--no-feed", default=None, help="May write the registry through the feed API.")
@click.option("--admin/--no-admin", default=None, help="May use the admin surface.")
@with_appcontext
def accounts_set_permission(
    name: str, command_permission: str | None, feed: bool | None, admin: bool | None
) -> None:
    """Change an account's permissions; its live tokens follow at once."""
    try:
        a = services().accounts.set_permissions(name, command=command_permission, feed=feed, admin=admin)
    except GatewayError as exc:
        _fail(exc.message)
    feed_text, admin_text = ("yes" if a.feed else "no"), ("yes" if a.admin else "no")
    click.echo(f"{a.name!r}: command {a.permission}, feed {feed_text}, admin {admin_text}.")


@accounts.command("regenerate-secret")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def accounts_regenerate_secret(name: str, as_json: bool) -> None:
    """Give an account a new secret; every token issued before stops working."""
    try:
        creds = services().accounts.regenerate_secret(name)
    except GatewayError as exc:
        _fail(exc.message)
    _print_credentials(creds, as_json, "Regenerated the secret of")


@accounts.command("demo")
@click.option("--name", default="demo", show_default=True)
@click.option(
    "--file", "path", default="var/demo-credentials.json", show_default=True, type=click.Path(dir_okay=False)
)
@with_appcontext
def accounts_demo(name: str, path: str) -> None:
    """Make sure the read_only demo account exists and print its credentials.

    The demo account's secret is kept in a 0600 file beside the database so that every `make run`
    can print it again; no other secret is ever written in clear.
    """
    svc = services()
    file = Path(path)
    account = svc.accounts.find(name)
    saved = json.loads(file.read_text()) if file.exists() else {}
    if (
        account is not None
        and saved.get("client_id") == account.client_id
        and verify_secret(saved.get("client_secret", ""), account.secret_hash)
    ):
        creds = Credentials(account, saved["client_secret"])
        verb = "Reusing"
    else:
        creds = svc.accounts.regenerate_secret(name) if account else svc.accounts.create(name, "read_only")
        verb = "Regenerated the secret of" if account else "Created"
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"client_id": creds.account.client_id, "client_secret": creds.client_secret}, out)
    click.echo(f"{verb} demo API account {name!r} ({creds.account.permission}):")
    click.echo(f"  client_id:     {creds.account.client_id}")
    click.echo(f"  client_secret: {creds.client_secret}")


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
