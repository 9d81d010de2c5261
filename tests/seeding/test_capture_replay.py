"""Recording: `gateway clients capture` records one running gateway over OAuth, `gateway clients
import-xml` replays the file into another, and the second serves the first one's bytes."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from gateway import create_app
from gateway.cli import main
from gateway.testing.servers import InProcessServer
from gateway.xml.capture import CAPTURE_NAMESPACE
from tests.conftest import ValidatingClient

ANSWERS = (
    "/api/command?action=get_connected_clients&include_connections=1",
    "/api/command?action=get_connected_clients",
    "/api/command?action=get_appliances",
)


@pytest.fixture
def source(app, svc, demo_population):
    """The demo population served on a local port, and a read_only account's credentials."""
    app.config["REQUEST_LOG"] = False
    server = InProcessServer(app)
    creds = svc.accounts.create("recorder", "read_only")
    yield server.url, creds
    server.stop()


@pytest.fixture
def target(app_config, migrated_sqlite, tmp_path):
    """A second gateway, on a database of its own."""
    path = tmp_path / "target.db"
    shutil.copyfile(migrated_sqlite, path)
    other = create_app({**app_config, "DATABASE_URL": f"sqlite:///{path}", "REQUEST_LOG": False})
    other.test_client_class = ValidatingClient
    yield other
    other.extensions["gateway"].store.close()


def answers(app) -> list[bytes]:
    creds = app.extensions["gateway"].accounts.create("reader", "read_only")
    client = app.test_client()
    token = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    ).get_json()["access_token"]
    got = [client.get(path, headers={"Authorization": f"Bearer {token}"}) for path in ANSWERS]
    assert all(r.status_code == 200 for r in got)
    return [r.data for r in got]


def test_a_capture_replays_byte_identically(app, source, target, tmp_path, demo_population):
    url, creds = source
    out = tmp_path / "capture.xml"
    recorded = CliRunner().invoke(
        main,
        ["clients", "capture", "--from", url, "--client-id", creds.account.client_id, "--out", str(out)],
        env={"GATEWAY_CAPTURE_CLIENT_SECRET": creds.client_secret},
        catch_exceptions=False,
    )
    appliances, clients = demo_population
    assert recorded.exit_code == 0, recorded.output
    assert f"Captured {len(appliances)} appliances and {len(clients)} clients" in recorded.output
    assert CAPTURE_NAMESPACE.encode() in out.read_bytes()
    replayed = target.test_cli_runner().invoke(
        main, ["clients", "import-xml", str(out)], catch_exceptions=False
    )
    assert replayed.exit_code == 0, replayed.output
    assert answers(target) == answers(app)


def test_capture_mistakes_are_one_line(source, tmp_path):
    url, _ = source
    runner = CliRunner()
    out = tmp_path / "never.xml"
    wrong = runner.invoke(
        main,
        ["clients", "capture", "--from", url, "--client-id", "x", "--client-secret", "y", "--out", str(out)],
    )
    assert wrong.exit_code == 1 and "no token for 'capture': 401" in wrong.output and not out.exists()
    gone = runner.invoke(
        main,
        [
            "clients",
            "capture",
            "--from",
            "http://127.0.0.1:9",
            "--client-id",
            "x",
            "--client-secret",
            "y",
            "--out",
            str(out),
        ],
    )
    assert gone.exit_code == 1 and "no answer" in gone.output and "Traceback" not in gone.output


def test_a_plain_capture_still_imports_and_a_broken_file_changes_nothing(
    target, tmp_path, svc, demo_population
):
    from gateway.xml.capture import capture_file

    runner = target.test_cli_runner()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        capture_file(
            b"<appliances xmlns='x:y'><oops/></appliances>", b"<connected_clients xmlns='x:y'/>", "s", "t"
        )
    )
    refused = runner.invoke(main, ["clients", "import-xml", str(bad)])
    assert refused.exit_code == 1 and "oops" in refused.output
    assert target.extensions["gateway"].registry.count() == 0
