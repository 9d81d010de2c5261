"""The ``gateway`` command (Flask's click integration): database, demo data, API accounts, TLS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app
from .controls.cli import COMMANDS as CONTROL_COMMANDS
from .errors import GatewayError
from .oauth.accounts import Credentials
from .oauth.models import COMMAND_PERMISSIONS
from .oauth.secrets import verify_secret
from .registry import demo as demo_population
from .services import services
from .storage import migrate


def _fail(message: str) -> None:
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
@click.option("--seed", default=2026, show_default=True, help="Seed of the generator (same seed, same population).")
@with_appcontext
def demo_load(replace: bool, seed: int) -> None:
    """Load a three-appliance cluster with representatives, customers, attendees and Jumpoints (once)."""
    svc = services()
    existing = svc.registry.count()
    if existing and not replace:
        click.echo(f"The registry already holds {existing} connected clients; kept them (use --replace to reload).")
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
def accounts() -> None:
    """API accounts (OAuth client credentials)."""


@accounts.command("create")
@click.argument("name")
@click.option("--permission", type=click.Choice(COMMAND_PERMISSIONS), default="read_only", show_default=True,
              help="Command API permission.")
@click.option("--feed", is_flag=True, help="May write the registry through the feed API.")
@click.option("--admin", is_flag=True, help="May use the admin surface (reset, faults, clock, journal).")
@click.option("--legacy-login", is_flag=True, help="Also accept username=NAME&password=SECRET parameters.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def accounts_create(name: str, permission: str, feed: bool, admin: bool, legacy_login: bool, as_json: bool) -> None:
    """Create an API account and print its client id and secret (once)."""
    try:
        creds = services().accounts.create(name, permission, legacy_login=legacy_login, feed=feed, admin=admin)
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
        click.echo(json.dumps([a.public() | {"valid_tokens": svc.accounts.valid_token_count(a.client_id)} for a in items]))
        return
    if not items:
        click.echo("No API accounts yet: gateway accounts create NAME")
        return
    click.echo(f"{'NAME':<24} {'CLIENT ID':<42} {'COMMAND':<12} {'FEED':<5} {'ADMIN':<6} {'STATE':<9} TOKENS")
    for a in items:
        state = "enabled" if a.enabled else "disabled"
        flags = f"{'yes' if a.feed else 'no':<5} {'yes' if a.admin else 'no':<6}"
        click.echo(f"{a.name:<24} {a.client_id:<42} {a.permission:<12} {flags} {state:<9} {svc.accounts.valid_token_count(a.client_id)}")


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
@click.option("--command", "command_permission", type=click.Choice(COMMAND_PERMISSIONS), help="Command API permission.")
@click.option("--feed/--no-feed", default=None, help="May write the registry through the feed API.")
@click.option("--admin/--no-admin", default=None, help="May use the admin surface.")
@with_appcontext
def accounts_set_permission(name: str, command_permission: str | None, feed: bool | None, admin: bool | None) -> None:
    """Change an account's permissions; its live tokens follow at once."""
    try:
        a = services().accounts.set_permissions(name, command=command_permission, feed=feed, admin=admin)
    except GatewayError as exc:
        _fail(exc.message)
    click.echo(f"{a.name!r}: command {a.permission}, feed {'yes' if a.feed else 'no'}, admin {'yes' if a.admin else 'no'}.")


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
@click.option("--file", "path", default="var/demo-credentials.json", show_default=True, type=click.Path(dir_okay=False))
@with_appcontext
def accounts_demo(name: str, path: str) -> None:
    """Make sure the read_only demo account exists and print its credentials.

    The demo account's secret is kept in a 0600 file beside the database so that every `make run`
    can print it again; no other secret is ever written in clear.
    """
    svc = services()
    file = Path(path)
    account = svc.accounts.store.find_account(name)
    saved = json.loads(file.read_text()) if file.exists() else {}
    if account is not None and saved.get("client_id") == account.client_id and verify_secret(
        saved.get("client_secret", ""), account.secret_hash
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
@click.option("--name", "names", multiple=True, help="Host names or IPs of the server certificate (repeatable).")
def tls_init(directory: str, names: tuple[str, ...]) -> None:
    """Create a private CA and a server certificate for localhost, 127.0.0.1 and ::1."""
    from . import tls as tls_module

    files = tls_module.init(Path(directory), names or tls_module.DEFAULT_NAMES)
    click.echo(f"Created a CA ({files.ca_cert}) and a server certificate ({files.cert}). Serve HTTPS with:")
    click.echo(f"  export GATEWAY_TLS_CERT={files.cert} GATEWAY_TLS_KEY={files.key}")
    click.echo("and make clients trust it with:")
    click.echo(f"  export REQUESTS_CA_BUNDLE={files.ca_cert.resolve()}    # Python requests")
    click.echo(f"  curl --cacert {files.ca_cert} https://localhost:8080/check_health")
