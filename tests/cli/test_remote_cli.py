"""The control commands' journal verification, and every control command driving a running gateway
through its admin API (--url and an admin account's credentials) instead of the database."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.testing.servers import InProcessServer


@pytest.fixture
def cli(cli):
    return lambda *args, ok=True: cli(*args, ok=ok).output


def test_journal_count_wait_and_show_locally(cli, command):
    for _ in range(3):
        command("get_api_info")
    command("nonsense")
    assert cli("journal", "count", "--action", "get_api_info") == "3\n"
    assert cli("journal", "count", "--face", "command", "--has-error") == "1\n"
    assert cli("journal", "count", "--error", "nonsense") == "1\n"
    assert cli("journal", "count", "--action", "get_api_info", "--expect", "3") == "3\n"
    failed = cli("journal", "count", "--action", "get_api_info", "--status", "503", "--expect", "1", ok=False)
    assert "Expected 1 journal entries matching action='get_api_info', status=503; found 0." in failed
    assert "status 200 != 503" in failed
    assert cli("journal", "wait", "3", "--action", "get_api_info").startswith("3 matching entries")
    timed_out = cli("journal", "wait", "9", "--action", "get_api_info", "--timeout", "0.1", ok=False)
    assert (
        "Expected at least 9 journal entries matching action='get_api_info' within 0.1 s; found 3."
        in timed_out
    )
    shown = cli("journal", "show", "--face", "command", "--limit", "2")
    assert shown.count("get_api_info") == 2
    assert "Showed 2 of 4 matching entries; 2 more matching entries: --after" in shown
    tail = cli("journal", "show", "--face", "command", "--tail", "1")
    assert "nonsense" in tail and "error=" in tail and "3 older matching entries not shown" in tail
    assert "Showed" not in cli("journal", "show", "--face", "command")
    assert "'--status': 'x' is not a valid integer" in cli("journal", "show", "--status", "x", ok=False)
    assert "since: must be UNIX seconds or an ISO 8601 time" in cli(
        "journal", "count", "--since", "x", ok=False
    )


@pytest.fixture
def remote(app, svc):
    """run(*args, ok=True) -> output of the gateway command against the app served on a local port."""
    app.config["REQUEST_LOG"] = False  # its lines go to the stderr the runner captures
    server = InProcessServer(app)
    creds = svc.accounts.create("remote-admin", "deny", admin=True)
    runner = CliRunner()
    options = ["--url", server.url, "--client-id", creds.account.client_id]
    env = {"GATEWAY_ADMIN_CLIENT_SECRET": creds.client_secret}

    def run(*args: str, ok: bool = True) -> str:
        # the options go after the command's own words, as a user types them
        result = runner.invoke(main, [*args, *options], env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    run.url = server.url
    yield run
    server.stop()


def test_every_control_command_drives_a_running_gateway(remote, svc, command):
    rule = json.loads(remote("faults", "add", "--action", "get_api_info", "--error", "503", "--times", "1"))
    assert [r["id"] for r in svc.controls.faults.list()] == [rule["id"]], "written on the gateway"
    assert f"#{rule['id']} active" in remote("faults", "list")
    assert command("get_api_info").status_code == 503
    assert remote("faults", "clear", str(rule["id"])) == f"Removed fault rule #{rule['id']}.\n"
    assert "No fault rule has the id" in remote("faults", "clear", "999", ok=False)
    assert "frozen" in remote("clock", "set", "2030-01-01T00:00:00Z", "--freeze")
    assert remote("clock", "advance", "60").startswith("2030-01-01T00:01:00+00:00")
    assert "ISO 8601" in remote("clock", "set", "tomorrow", ok=False)
    assert "offset +0 s" in remote("clock", "reset")
    assert json.loads(remote("ratelimit", "set", "--enable", "--per-second", "7"))["per_second"] == 7
    assert json.loads(remote("ratelimit", "reset"))["enabled"] is False
    command("get_api_info")
    assert remote("journal", "count", "--action", "get_api_info") == "2\n"
    assert remote("journal", "wait", "2", "--action", "get_api_info").startswith("2 matching entries")
    assert "status 200 != 404" in remote("journal", "count", "--status", "404", "--expect", "1", ok=False)
    assert "get_api_info" in remote("journal", "show", "--tail", "1", "--face", "command")
    reset = json.loads(remote("controls", "reset"))
    assert reset["journal_entries_removed"] >= 2
    assert "Reset the registry to fixture 'small'" in remote("registry", "reset", "--fixture", "small")
    assert svc.registry.count() > 0
    assert "Removed" in remote("journal", "clear")


def test_follow_prints_entries_as_they_come(remote, command):
    done = threading.Event()
    output: list[str] = []

    def follow():
        output.append(remote("journal", "show", "--follow", "--max-entries", "3", "--action", "get_api_info"))
        done.set()

    thread = threading.Thread(target=follow)
    thread.start()
    for _ in range(3):
        command("get_api_info")
    thread.join(60)
    assert done.is_set() and output[0].count("get_api_info") == 3


def test_remote_mistakes_are_one_line(remote, app):
    runner = CliRunner()
    missing = runner.invoke(main, ["faults", "list", "--url", remote.url])
    assert missing.exit_code == 2 and "--url needs --client-id and --client-secret" in missing.output
    wrong = runner.invoke(
        main, ["clock", "show", "--url", remote.url, "--client-id", "x", "--client-secret", "y"]
    )
    assert wrong.exit_code == 1 and "no token for 'admin': 401" in wrong.output
    assert "Traceback" not in wrong.output and len(wrong.output.splitlines()) <= 2
    gone = runner.invoke(
        main, ["clock", "show", "--url", "http://127.0.0.1:9", "--client-id", "x", "--client-secret", "y"]
    )
    assert gone.exit_code == 1 and "no answer" in gone.output


def test_the_new_faults_from_the_command_line(cli, remote):
    reset = json.loads(cli("faults", "add", "--reset", "--every", "2", "--action", "get_api_info"))
    assert reset["reset"] is True and reset["every"] == 2
    dribble = json.loads(remote("faults", "add", "--dribble", "100", "--times", "3"))
    assert dribble["dribble"] == {"bytes_per_second": 100} and dribble["times"] == 3
    malformed = json.loads(
        cli("faults", "add", "--malformed", "garbage", "--probability", "0.5", "--seed", "4")
    )
    assert malformed["malformed"] == {"body": "garbage"} and malformed["seed"] == 4
    assert "dribble.bytes_per_second" in cli("faults", "add", "--dribble", "0", ok=False)
    assert "at most one of" in remote("faults", "add", "--reset", "--drop", ok=False)
