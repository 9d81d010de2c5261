"""Long commands show progress on a terminal (a pseudo-terminal here) and stay quiet with --quiet or when
their output goes to a pipe; ``simulate --fast`` prints a summary, not a line per step."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.seeding import demo, fixtures

GATEWAY = Path(sys.executable).with_name("gateway")


@pytest.fixture
def setup(tmp_path, migrated_sqlite):
    database = tmp_path / "gateway.db"
    database.write_bytes(Path(migrated_sqlite).read_bytes())
    appliances, clients = demo.build(fixtures.REFERENCE_TIME)
    for number, client in enumerate(clients, start=1):
        client.id = number
    fixture = tmp_path / "demo.yaml"
    fixtures.write(fixture, appliances, clients)
    env = {**os.environ, "GATEWAY_DATABASE_URL": f"sqlite:///{database}"}
    return env, fixture, tmp_path


def on_terminal(args, env) -> tuple[int, str]:
    """Run the gateway command with standard output and error on a pseudo-terminal; (status, what it
    showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [GATEWAY, *args], stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    shown = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not chunk:
            break
        shown.append(chunk)
    os.close(controller)
    return process.wait(timeout=120), b"".join(shown).decode(errors="replace")


def piped(args, env) -> subprocess.CompletedProcess:
    return subprocess.run([GATEWAY, *args], env=env, capture_output=True, text=True, timeout=120)


def test_load_and_dump_show_a_bar_on_a_terminal_only(setup):
    env, fixture, folder = setup
    status, shown = on_terminal(["clients", "load", str(fixture)], env)
    assert status == 0 and "Loading demo.yaml" in shown and "100%" in shown, shown
    status, shown = on_terminal(["clients", "load", str(fixture), "--quiet"], env)
    assert status == 0 and "Loading" not in shown and "Loaded 3 appliances" in shown, shown
    done = piped(["clients", "load", str(fixture)], env)
    assert done.returncode == 0 and done.stderr == "" and done.stdout.startswith("Loaded 3 appliances"), done

    status, shown = on_terminal(["clients", "dump", str(folder / "out.json")], env)
    assert status == 0 and "Dumping to out.json" in shown and "100%" in shown, shown
    done = piped(["clients", "dump", str(folder / "again.json")], env)
    assert done.stderr == "" and done.stdout.count("\n") == 1, done


def test_import_shows_a_bar_on_a_terminal_only(setup):
    env, _fixture, _folder = setup
    capture = Path(__file__).parents[1] / "xml" / "captures" / "beyondtrust_every_type.xml"
    status, shown = on_terminal(["clients", "import-xml", str(capture)], env)
    assert status == 0 and "Importing" in shown and "Imported 6 clients" in shown, shown
    done = piped(["clients", "import-xml", str(capture)], env)
    assert done.returncode == 0 and "Importing" not in done.stdout + done.stderr


def test_a_fast_simulation_prints_a_summary(setup):
    env, _fixture, _folder = setup
    steps = ["simulate", "--fast", "--steps", "200", "--seed", "2"]
    done = piped(steps, env)
    assert done.returncode == 0 and done.stderr == "", done
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("Simulated 200 steps"), done.stdout
    status, shown = on_terminal(steps, env)
    assert status == 0 and "Simulating" in shown and "100%" in shown, shown
    assert shown.count("operation(s)") == 0


def test_a_reader_that_goes_away_stops_a_dump_quietly(setup):
    env, fixture, _folder = setup
    assert piped(["clients", "load", str(fixture)], env).returncode == 0
    process = subprocess.Popen(
        [GATEWAY, "clients", "dump", "-"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout.read(100).startswith(b"version: 1")
    process.stdout.close()  # as `| head` does
    assert process.wait(timeout=120) == 1
    assert process.stderr.read() == b""
