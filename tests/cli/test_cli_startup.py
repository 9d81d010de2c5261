"""The gateway command and the pytest plugin start without the heavy libraries: ``gateway --help`` and
importing the plugin (which every pytest run in the environment does, entry point ``pytest11``) load
none of SQLAlchemy, lxml, Authlib or gunicorn, and --help not Flask either; each command imports what
it uses. Checked in a fresh interpreter, since this test process has imported everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "lxml", "authlib", "gunicorn")
GATEWAY = Path(sys.executable).with_name("gateway")

CHECK = """
import sys
{statement}
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({forbidden!r}))
assert not loaded, loaded
"""


HELP = """
from gateway.cli import main
try:
    main({args!r})
except SystemExit as stop:
    assert stop.code == 0
"""
LIGHT_CLI = (*HEAVY, "flask", "werkzeug")


@pytest.mark.parametrize(
    "statement, forbidden",
    [
        ("import gateway.testing.plugin", HEAVY),
        ("import gateway.cli", LIGHT_CLI),
        (HELP.format(args=["--help"]), LIGHT_CLI),
        (HELP.format(args=["clients", "load", "--help"]), LIGHT_CLI),
    ],
)
def test_imports_stay_light(statement, forbidden):
    code = CHECK.format(statement=statement, forbidden=forbidden)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_help_and_version_are_the_gateways():
    shown = subprocess.run([GATEWAY, "--help"], capture_output=True, text=True)
    assert shown.returncode == 0
    for flask_option in ("--app", "--env-file", "routes", "shell", "run "):
        assert flask_option not in shown.stdout
    assert "db" in shown.stdout and "--debug" in shown.stdout
    version = subprocess.run([GATEWAY, "--version"], capture_output=True, text=True)
    from importlib.metadata import version as installed

    assert version.stdout.strip() == f"gateway, version {installed('connected-clients-gateway')}"
    assert "Flask" not in version.stdout
