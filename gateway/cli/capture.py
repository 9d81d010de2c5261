"""``gateway clients capture``: record a running appliance (or gateway) once, to replay it with
``gateway clients import-xml``.

It takes a token with the given API account's client credentials (OAuth, as any integration does), asks
``get_appliances`` and ``get_connected_clients&include_connections=1``, checks both answers as an import
would, and writes them verbatim into one capture file (gateway.xml.capture.capture_file).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from gateway.admin_client import AdminCallError, AdminClient, Credentials

CLIENTS_PATH = "/api/command?action=get_connected_clients&include_connections=1"
APPLIANCES_PATH = "/api/command?action=get_appliances"


def _answer(client: AdminClient, bearer: dict, path: str) -> tuple[int, bytes]:
    return client.http("GET", path, headers=bearer, raw=True)


@click.command("capture")
@click.option(
    "--from", "source", required=True, help="Base URL of the appliance or gateway, e.g. https://host."
)
@click.option(
    "--client-id",
    envvar="GATEWAY_CAPTURE_CLIENT_ID",
    required=True,
    help="API account of the source [env GATEWAY_CAPTURE_CLIENT_ID].",
)
@click.option(
    "--client-secret",
    envvar="GATEWAY_CAPTURE_CLIENT_SECRET",
    required=True,
    help="Its secret [env GATEWAY_CAPTURE_CLIENT_SECRET].",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Capture file ('-': stdout).",
)
@click.option("--no-appliances", is_flag=True, help="Record only get_connected_clients.")
def capture(source: str, client_id: str, client_secret: str, out: str, no_appliances: bool) -> None:
    """Record a running appliance's connected clients (and appliances) into a capture file that
    `gateway clients import-xml` replays byte for byte."""
    from gateway.errors import GatewayError
    from gateway.xml.capture import capture_file, parse_capture

    client = AdminClient(source, Credentials("capture", client_id, client_secret))
    try:
        bearer = {"Authorization": f"Bearer {client.token(client.admin)}"}
        status, clients = _answer(client, bearer, CLIENTS_PATH)
        if status != 200:
            raise click.ClickException(f"get_connected_clients answered {status}: {clients[:300]!r}")
        appliances = None
        if not no_appliances:
            status, appliances = _answer(client, bearer, APPLIANCES_PATH)
            if status != 200 or b"<error" in appliances[:500]:
                click.echo(
                    f"get_appliances answered {status}; the capture holds the clients only "
                    "(an import keeps the target's appliances, with placeholders for unknown ones).",
                    err=True,
                )
                appliances = None
    except AdminCallError as exc:
        raise click.ClickException(str(exc)) from None
    captured_at = datetime.now(UTC).isoformat(timespec="seconds")
    document = capture_file(appliances, clients, source, captured_at)
    try:
        checked = parse_capture(document, 1 << 30)  # what an import will find, before anything is written
    except GatewayError as exc:
        raise click.ClickException(
            f"The answers do not make a capture an import accepts: {exc.message}"
        ) from None
    if out == "-":
        sys.stdout.buffer.write(document)
        return
    Path(out).write_bytes(document)
    held = f"{len(checked.appliances)} appliances and " if checked.appliances is not None else ""
    click.echo(
        f"Captured {held}{len(checked.clients)} clients ({checked.namespace}) from {source} into {out}."
    )
