"""``gateway serve``: what ``make run`` does, from any install: migrate, load the demo population (or
GATEWAY_BOOT_FIXTURE) once, make and print the demo account, then become gunicorn with the package's
settings (gateway/gunicorn_conf.py).

Only click is imported here: the rest is imported when the command runs, so ``gateway --help`` stays fast.
"""

from __future__ import annotations

import os
import sys

import click

DEFAULT_BIND = "127.0.0.1:8080"


@click.command("serve")
@click.option(
    "--bind",
    envvar="GATEWAY_BIND",
    default=DEFAULT_BIND,
    show_default=True,
    help="Address to listen on, HOST:PORT (0.0.0.0:8080 for every interface) [env GATEWAY_BIND].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    envvar="GATEWAY_WORKERS",
    help="gunicorn worker processes (default: 2 per CPU, at most 4) [env GATEWAY_WORKERS].",
)
@click.option(
    "--no-demo",
    is_flag=True,
    help="Do not load the demo population into an empty registry (GATEWAY_BOOT_FIXTURE still loads).",
)
@click.option(
    "--credentials-file",
    default="var/demo-credentials.json",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where the demo account's generated secret is kept (0600).",
)
def serve(bind: str, workers: int | None, no_demo: bool, credentials_file: str) -> None:
    """Migrate the database, load the demo population once, print the demo account's credentials, and
    serve with gunicorn (the process becomes gunicorn: signals reach it directly)."""
    from gateway.cli import bootstrap
    from gateway.config import ConfigError, settings
    from gateway.errors import GatewayError
    from gateway.services import build_services
    from gateway.serving import gunicorn_argv

    try:
        config = settings()
        svc = build_services(config)
    except (ConfigError, ValueError) as exc:  # a setting that cannot be used: its message names it
        raise click.ClickException(str(exc)) from None
    try:
        click.echo(bootstrap.upgrade(svc, config["DATABASE_URL"]))
        click.echo(bootstrap.populate(svc, config, demo=not no_demo))
        made = bootstrap.demo_account(
            svc, "demo", credentials_file, config["DEMO_CLIENT_ID"], config["DEMO_CLIENT_SECRET"]
        )
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        svc.store.close()
    for line in made.lines():
        click.echo(line)
    scheme = "https" if os.environ.get("GATEWAY_TLS_CERT") else "http"
    click.echo(f"Serving on {scheme}://{bind} (dashboard: /ui/; Ctrl-C stops)")
    env = {**os.environ, "GATEWAY_BIND": bind}
    if workers is not None:
        env["GATEWAY_WORKERS"] = str(workers)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = gunicorn_argv()
    os.execve(argv[0], argv, env)
