"""The gateway command fails cleanly: one or two lines naming the setting, file or command to fix, a
non-zero exit status, no traceback (``--debug`` shows it), and no database made behind the user's back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import COMMAND_PERMISSIONS, main
from gateway.cli.context import CliState
from gateway.config import DEFAULTS
from gateway.oauth.models import COMMAND_PERMISSIONS as MODEL_PERMISSIONS

GATEWAY = Path(sys.executable).with_name("gateway")


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """The gateway command in this process, from ``cwd``, with ``env`` added to the environment."""
    runner = CliRunner()
    here = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), env=env, obj=CliState())
    finally:
        os.chdir(here)


def assert_clean(result, *names: str) -> list[str]:
    """A failure a user can act on: non-zero, at most two lines, each name in them, no traceback."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0, result.output
    assert 1 <= len(lines) <= 2, result.output
    assert "Traceback" not in result.output and "Unexpected error" not in result.output, result.output
    for name in names:
        assert name in result.output, result.output
    return lines


@pytest.fixture
def migrated(tmp_path, migrated_sqlite) -> dict[str, str]:
    """The environment of a migrated SQLite database of this test's own."""
    path = tmp_path / "gateway.db"
    path.write_bytes(Path(migrated_sqlite).read_bytes())
    return {"GATEWAY_DATABASE_URL": f"sqlite:///{path}"}


def test_a_bad_setting_is_named(migrated):
    result = run("accounts", "list", env={**migrated, "GATEWAY_RATE_LIMIT": "bogus"})
    assert assert_clean(result, "GATEWAY_RATE_LIMIT", "bogus") == [
        "Error: GATEWAY_RATE_LIMIT must be true or false, not 'bogus'"
    ]


@pytest.mark.parametrize("key", sorted(DEFAULTS))
@pytest.mark.parametrize("value", ["bogus", "-5", "1e400", '{"a": 1}'])
def test_any_malformed_setting_fails_in_a_line_naming_it(migrated, key, value):
    result = run("accounts", "list", env={**migrated, f"GATEWAY_{key}": value})
    if result.exit_code != 0:  # text settings (versions, ids) take any text
        assert_clean(result, f"GATEWAY_{key}")


def test_debug_shows_the_traceback(tmp_path):
    env = {**os.environ, "GATEWAY_RATE_LIMIT": "bogus", "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    plain = subprocess.run([GATEWAY, "accounts", "list"], env=env, capture_output=True, text=True)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    debug = subprocess.run([GATEWAY, "--debug", "accounts", "list"], env=env, capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("accounts", "list"),
        ("demo", "load"),
        ("clients", "dump", "-"),
        ("registry", "reset"),
        ("faults", "list"),
        ("clock", "show"),
        ("simulate", "--steps", "1", "--fast"),
    ],
)
def test_no_database_is_created_outside_db_upgrade(tmp_path, args):
    result = run(*args, env={"GATEWAY_DATABASE_URL": "sqlite:///var/gateway.db"}, cwd=tmp_path)
    assert_clean(result, "var/gateway.db", "does not exist", "gateway db upgrade")
    assert list(tmp_path.iterdir()) == []
    created = run("db", "upgrade", env={"GATEWAY_DATABASE_URL": "sqlite:///var/gateway.db"}, cwd=tmp_path)
    assert created.exit_code == 0 and (tmp_path / "var" / "gateway.db").is_file()


def test_a_schema_never_created_says_to_upgrade(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    result = run("accounts", "list", env={"GATEWAY_DATABASE_URL": f"sqlite:///{empty}"})
    assert_clean(result, "has no schema", "run `gateway db upgrade`")


def test_an_older_schema_says_to_upgrade(tmp_path):
    from gateway.storage import migrate, open_store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    migrate.upgrade(store, "0004")
    store.close()
    result = run("accounts", "list", env={"GATEWAY_DATABASE_URL": url})
    assert_clean(result, "revision 0004", migrate.head_revision(), "gateway db upgrade")


def test_an_unreachable_postgresql_is_named(tmp_path):
    url = "postgresql://someone:hunter2@127.0.0.1:9/gateway"
    result = run("accounts", "list", env={"GATEWAY_DATABASE_URL": url, "GATEWAY_DB_TIMEOUT": "2"})
    assert_clean(result, "127.0.0.1:9/gateway", "GATEWAY_DATABASE_URL")
    assert "hunter2" not in result.output


def test_a_missing_fixture_file_is_named(migrated, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    assert_clean(run("clients", "load", str(missing), env=migrated), str(missing))
    assert_clean(run("clients", "load", str(missing), "--merge", env=migrated), str(missing))
    assert_clean(run("clients", "import-xml", str(tmp_path / "nowhere.xml"), env=migrated), "nowhere.xml")


def test_an_invalid_or_unreadable_capture_is_named(migrated, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<not a capture")
    assert_clean(run("clients", "import-xml", str(bad), env=migrated), str(bad))
    binary = tmp_path / "binary.xml"
    binary.write_bytes(bytes(range(256)) * 4)
    assert_clean(run("clients", "import-xml", str(binary), env=migrated), str(binary))
    folder = tmp_path / "folder.xml"
    folder.mkdir()
    assert run("clients", "import-xml", str(folder), env=migrated).exit_code != 0


def test_an_invalid_fixture_is_named_with_its_line(migrated, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("clients: [\n")
    result = run("clients", "load", str(broken), env=migrated)
    assert_clean(result, f"{broken}:", "not valid YAML")


def test_help_lists_the_permissions_the_accounts_know():
    assert tuple(COMMAND_PERMISSIONS) == tuple(MODEL_PERMISSIONS)
