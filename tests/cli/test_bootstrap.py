"""What `gateway serve` does before it serves (gateway/cli/bootstrap.py): fixed demo credentials for CI,
GATEWAY_BOOT_FIXTURE instead of the demo population, each step idempotent."""

from __future__ import annotations

import shutil
import stat

import pytest

from gateway.cli.bootstrap import BootstrapError, demo_account, populate, upgrade
from gateway.config import ConfigError, settings
from gateway.seeding import fixtures

SECRET = "ci-secret-0123456789abcdef"


def token_status(client, client_id: str, secret: str) -> int:
    return client.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).status_code


def test_fixed_demo_credentials_work_and_only_their_hash_is_kept(svc, client, stored_text, tmp_path):
    file = tmp_path / "demo-credentials.json"
    made = demo_account(svc, path=str(file), client_id="ci-reader", secret=SECRET)
    assert made.verb == "Created" and made.credentials.account.client_id == "ci-reader"
    assert made.credentials.account.permission == "read_only"
    assert token_status(client, "ci-reader", SECRET) == 200
    assert SECRET not in stored_text() and not file.exists(), "a given secret is written nowhere"
    assert SECRET not in "\n".join(made.lines()), "the operator knows it: not printed"

    again = demo_account(svc, path=str(file), client_id="ci-reader", secret=SECRET)
    assert again.verb == "Reusing"
    assert token_status(client, "ci-reader", SECRET) == 200

    changed = demo_account(svc, path=str(file), client_id="ci-reader", secret=SECRET + "-2")
    assert changed.verb == "Set the secret of"
    assert token_status(client, "ci-reader", SECRET) == 401
    assert token_status(client, "ci-reader", SECRET + "-2") == 200


def test_fixed_demo_credentials_that_cannot_be_used_name_the_setting(svc, tmp_path):
    path = str(tmp_path / "demo.json")
    for client_id, secret in (("ci reader", SECRET), ("ci-reader", "short"), ("x" * 65, "")):
        with pytest.raises(BootstrapError, match="GATEWAY_DEMO_CLIENT_ID / GATEWAY_DEMO_CLIENT_SECRET"):
            demo_account(svc, path=path, client_id=client_id, secret=secret)
    assert svc.accounts.list() == []
    demo_account(svc, path=path, client_id="first-id", secret=SECRET)
    with pytest.raises(BootstrapError, match="not GATEWAY_DEMO_CLIENT_ID=second-id"):
        demo_account(svc, path=path, client_id="second-id", secret=SECRET)


def test_a_generated_demo_secret_is_kept_in_a_private_file_and_reused(svc, client, tmp_path):
    file = tmp_path / "var" / "demo-credentials.json"
    made = demo_account(svc, path=str(file))
    assert made.verb == "Created" and stat.S_IMODE(file.stat().st_mode) == 0o600
    creds = made.credentials
    assert token_status(client, creds.account.client_id, creds.client_secret) == 200
    again = demo_account(svc, path=str(file))
    assert again.verb == "Reusing" and again.credentials.client_secret == creds.client_secret
    assert creds.client_secret in "\n".join(again.lines())
    with_id = demo_account(svc, name="other", path=str(tmp_path / "other.json"), client_id="fixed-id")
    assert with_id.credentials.account.client_id == "fixed-id"


def test_boot_fixture_by_name_loads_once_instead_of_the_demo(svc, app_config):
    config = settings({**app_config, "BOOT_FIXTURE": "small"})
    assert "up to date" in upgrade(svc, config["DATABASE_URL"])
    message = populate(svc, config)
    assert message.startswith("Loaded fixture 'small'")
    expected = fixtures.read(fixtures.NAMED / "small.yaml").clients
    assert svc.registry.count() == len(expected)
    assert "kept them" in populate(svc, config)


def test_boot_fixture_file_and_no_demo(svc, app_config, tmp_path):
    assert "No population" in populate(svc, settings(app_config), demo=False)
    assert svc.registry.count() == 0
    file = tmp_path / "mine.json"
    shutil.copyfile(fixtures.NAMED / "queue.json", file)
    message = populate(svc, settings({**app_config, "BOOT_FIXTURE": str(file)}), demo=False)
    assert message.endswith(f"from {file}.")
    assert svc.registry.count() == len(fixtures.read(file).clients) > 0


@pytest.mark.parametrize("boot", ["nonesuch", "missing/file.yaml"])
def test_a_boot_fixture_that_does_not_exist_names_the_setting(svc, app_config, boot):
    with pytest.raises(BootstrapError, match="GATEWAY_BOOT_FIXTURE"):
        populate(svc, settings({**app_config, "BOOT_FIXTURE": boot}))
    assert svc.registry.count() == 0


def test_demo_population_when_nothing_else_is_asked(svc, app_config):
    assert "Loaded the demo population" in populate(svc, settings(app_config))
    assert svc.registry.count() > 100


def test_credentials_and_log_format_settings_are_text(monkeypatch):
    monkeypatch.setenv("GATEWAY_DEMO_CLIENT_ID", "0123456789")
    monkeypatch.setenv("GATEWAY_DEMO_CLIENT_SECRET", "1e5")
    config = settings()
    assert (config["DEMO_CLIENT_ID"], config["DEMO_CLIENT_SECRET"]) == ("0123456789", "1e5")
    assert config["LOG_FORMAT"] == "json"
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "yaml")
    with pytest.raises(ConfigError, match="GATEWAY_LOG_FORMAT"):
        settings()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GATEWAY_LOG_FORMAT": "xml"}, "GATEWAY_LOG_FORMAT must be json or text"),
        ({"GATEWAY_DATABASE_URL": "mysql://db/x"}, "GATEWAY_DATABASE_URL"),
        ({"GATEWAY_BOOT_FIXTURE": "nonesuch"}, "GATEWAY_BOOT_FIXTURE: No fixture named 'nonesuch'"),
        ({"GATEWAY_DEMO_CLIENT_SECRET": "short"}, "GATEWAY_DEMO_CLIENT_SECRET"),
    ],
)
def test_serve_refuses_settings_it_cannot_use_in_one_line(tmp_path, monkeypatch, env, message):
    """Before gunicorn starts: a clear error naming the setting, exit status 1, no traceback."""
    from click.testing import CliRunner

    from gateway.cli.serve import serve

    monkeypatch.chdir(tmp_path)
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", **env}
    result = CliRunner().invoke(serve, ["--no-demo"], env=env)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and "Serving on" not in result.output
