"""The controls from the command line: what an operator types against a running gateway's database."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def cli(cli):
    """The gateway command's output."""
    return lambda *args, ok=True: cli(*args, ok=ok).output


def test_faults_add_list_clear(cli, command, make_account):
    target = make_account(name="target")
    rule = json.loads(
        cli(
            "faults",
            "add",
            "--action",
            "get_api_info",
            "--error",
            "503",
            "--message",
            "down",
            "--every",
            "2",
            "--account",
            "target",
        )
    )
    assert rule["match"] == {"action": ["get_api_info"], "account": target.account.client_id}
    assert rule["error"] == {"status": 503, "message": "down"} and rule["every"] == 2
    seeded = json.loads(
        cli("faults", "add", "--face", "oauth", "--latency", "10-20", "--seed", "3", "--times", "1")
    )
    assert seeded["latency"] == {"min_ms": 10, "max_ms": 20} and seeded["times"] == 1
    raw = json.loads(cli("faults", "add", "--json", '{"truncate": {"bytes": 5}}', "--path", "/api/command*"))
    assert raw["truncate"] == {"bytes": 5} and raw["match"] == {"path": "/api/command*"}
    listing = cli("faults", "list")
    assert f"#{rule['id']} active" in listing and "matched 0" in listing
    assert [r["id"] for r in json.loads(cli("faults", "list", "--json"))] == [
        rule["id"],
        seeded["id"],
        raw["id"],
    ]
    assert cli("faults", "clear", str(raw["id"])) == f"Removed fault rule #{raw['id']}.\n"
    assert "No fault rule has the id" in cli("faults", "clear", str(raw["id"]), ok=False)
    assert cli("faults", "clear") == "Removed 2 fault rules.\n"
    assert cli("faults", "list") == "No fault rules.\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("--error", "302"), "error.status"),
        (("--latency", "soon"), "--latency"),
        (("--json", "[1]"), "a rule is a JSON object"),
        (("--json", "{"), "not JSON"),
        (("--account", "nobody", "--drop"), "match.account"),
        ((), "a rule needs an effect"),
    ],
)
def test_faults_add_refuses_bad_rules(cli, args, message):
    assert message in cli("faults", "add", *args, ok=False)
    assert cli("faults", "list") == "No fault rules.\n"


def test_clock_commands(cli, svc):
    assert "frozen" in cli("clock", "set", "2030-01-01T00:00:00Z", "--freeze")
    assert svc.clock.now() == 1_893_456_000
    assert cli("clock", "advance", "60").startswith("2030-01-01T00:01:00+00:00 (ts 1893456060")
    assert "frozen" not in cli("clock", "unfreeze")
    assert "frozen" in cli("clock", "freeze")
    assert "offset +0 s" in cli("clock", "reset") and svc.clock.frozen_at is None
    assert "ISO 8601" in cli("clock", "set", "tomorrow", ok=False)
    assert "between 1970 and 2100" in cli("clock", "advance", "9e12", ok=False)
    assert cli("clock", "show").endswith("offset +0 s)\n")


def test_journal_ratelimit_and_reset(cli, command, svc):
    command("get_api_info")
    shown = cli("journal", "show", "--action", "get_api_info")
    assert "/api/command" in shown and "get_api_info" in shown and " 200 " in shown
    assert json.loads(cli("journal", "show", "--json", "--face", "command"))[0]["action"] == "get_api_info"
    assert json.loads(cli("ratelimit", "set", "--enable", "--per-second", "2")) == {
        "enabled": True,
        "per_second": 2,
        "per_hour": 15000,
    }
    assert "per_second" in cli("ratelimit", "set", "--per-second", "0", ok=False)
    cli("faults", "add", "--drop")
    reset = json.loads(cli("controls", "reset"))
    assert reset["faults_removed"] == 1 and reset["journal_entries_removed"] >= 2
    assert reset["rate_limit"]["enabled"] is False
    assert json.loads(cli("ratelimit", "show"))["per_second"] == 20
    assert "Removed 0 journal entries." in cli("journal", "clear")
