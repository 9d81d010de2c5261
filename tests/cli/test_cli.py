"""The gateway command: database, demo data, API accounts and TLS, as an operator runs them."""

from __future__ import annotations

import json
import ssl
import stat

from cryptography import x509


def test_accounts_create_json_then_use_it(cli, client):
    created = json.loads(cli("accounts", "create", "ci-bot", "--permission", "full_access", "--json").output)
    assert created["name"] == "ci-bot" and created["permission"] == "full_access"
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert response.status_code == 200


def test_accounts_create_text_shows_secret_once(cli, svc):
    output = cli("accounts", "create", "reporter").output
    secret = output.split("client_secret:")[1].split()[0]
    account = svc.accounts.get("reporter")
    assert account.permission == "read_only" and account.check_client_secret(secret)
    assert secret not in cli("accounts", "list").output
    assert secret not in cli("accounts", "list", "--json").output


def test_accounts_create_with_known_credentials_never_echoes_the_secret(cli, client, svc):
    secret = "ci-known-secret-0123"
    out = cli(
        "accounts", "create", "ci", "--feed", "--client-id", "ci-feeder", "--client-secret", secret
    ).output
    assert "ci-feeder" in out and secret not in out
    as_json = cli(
        "accounts",
        "create",
        "ci2",
        "--client-id",
        "ci-two",
        "--json",
        env={"GATEWAY_NEW_CLIENT_SECRET": secret},
    )
    assert json.loads(as_json.output) == {**json.loads(as_json.output), "client_id": "ci-two"}
    assert secret not in as_json.output and "client_secret" not in json.loads(as_json.output)
    for client_id in ("ci-feeder", "ci-two"):
        answer = client.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert answer.status_code == 200
    assert svc.accounts.get("ci").feed
    # a short secret or a taken client id: one line, nothing made
    assert (
        "16"
        in cli(
            "accounts", "create", "x1", "--client-id", "x-one", "--client-secret", "short", ok=False
        ).output
    )
    taken = cli("accounts", "create", "x2", "--client-id", "ci-feeder", "--client-secret", secret, ok=False)
    assert taken.exit_code != 0 and svc.accounts.find("x2") is None


def test_duplicate_and_invalid_names_fail_cleanly(cli):
    cli("accounts", "create", "twice")
    assert "already exists" in cli("accounts", "create", "twice", ok=False).output
    assert "account name" in cli("accounts", "create", "bad\x00name", ok=False).output
    assert "Invalid value" in cli("accounts", "create", "x", "--permission", "root", ok=False).output


def test_accounts_list_disable_enable_regenerate(cli, client):
    created = json.loads(cli("accounts", "create", "ops", "--json").output)
    listed = json.loads(cli("accounts", "list", "--json").output)
    assert [a["name"] for a in listed] == ["ops"] and listed[0]["valid_tokens"] == 0
    client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert json.loads(cli("accounts", "list", "--json").output)[0]["valid_tokens"] == 1
    cli("accounts", "disable", "ops")
    assert json.loads(cli("accounts", "list", "--json").output)[0] == {**listed[0], "enabled": False}
    cli("accounts", "enable", created["client_id"])
    fresh = json.loads(cli("accounts", "regenerate-secret", "ops", "--json").output)
    assert fresh["client_id"] == created["client_id"] and fresh["client_secret"] != created["client_secret"]
    old = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert old.status_code == 401
    assert "No API account" in cli("accounts", "disable", "ghost", ok=False).output


def test_set_permission(cli, svc):
    cli("accounts", "create", "p")
    cli("accounts", "set-permission", "p", "--command", "deny", "--feed")
    account = svc.accounts.get("p")
    assert (account.permission, account.feed, account.admin) == ("deny", True, False)
    cli("accounts", "set-permission", "p", "--no-feed", "--admin")
    account = svc.accounts.get("p")
    assert (account.permission, account.feed, account.admin) == ("deny", False, True)


def test_db_upgrade_is_idempotent(cli):
    assert "up to date" in cli("db", "upgrade").output
    assert "up to date" in cli("db", "init").output


def test_demo_load_once_then_replace(cli, svc):
    assert "Loaded 3 appliances" in cli("demo", "load").output
    count = svc.registry.count()
    assert count > 300
    assert "kept them" in cli("demo", "load").output
    assert svc.registry.count() == count
    assert "Loaded" in cli("demo", "load", "--replace", "--seed", "7").output


def test_demo_account_is_reused_across_runs(cli, tmp_path, svc):
    path = tmp_path / "var" / "demo.json"
    first = cli("accounts", "demo", "--file", str(path)).output
    second = cli("accounts", "demo", "--file", str(path)).output
    assert "Created" in first and "Reusing" in second
    secret = first.split("client_secret:")[1].split()[0]
    assert secret in second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.unlink()
    third = cli("accounts", "demo", "--file", str(path)).output
    assert "Regenerated" in third and secret not in third
    assert len(svc.accounts.list()) == 1


def test_tls_init_makes_a_chain_python_trusts(cli, tmp_path):
    output = cli("tls", "init", "--dir", str(tmp_path / "tls")).output
    assert "REQUESTS_CA_BUNDLE" in output
    ca = x509.load_pem_x509_certificate((tmp_path / "tls" / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "tls" / "server.pem").read_bytes())
    assert cert.issuer == ca.subject
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    cert.verify_directly_issued_by(ca)
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
    context.load_cert_chain(tmp_path / "tls" / "server.pem", tmp_path / "tls" / "server-key.pem")
    assert stat.S_IMODE((tmp_path / "tls" / "server-key.pem").stat().st_mode) == 0o600
