"""Probes, Prometheus metrics, structured request logs and request ids."""

from __future__ import annotations

import json
import re

import pytest

from gateway import create_app
from gateway.config import ConfigError
from gateway.storage.migrate import head_revision
from tests import populations


def sample(metrics: str, name: str, **labels) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name and ",".join(sorted((match[2] or "").split(","))) == wanted:
            return float(match[3])
    return 0.0


def test_liveness_needs_no_database_and_readiness_checks_the_schema(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and "gateway db upgrade" in not_ready.get_json()["reason"]
    app.extensions["gateway"].store.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    broken = create_app({"DATABASE_URL": f"sqlite:///{junk}"})
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["reason"] == "the database is unavailable"
    assert broken.test_client().get("/healthz").status_code == 200
    outage = broken.test_client().get("/api/command?action=get_api_info")
    assert outage.status_code == 503 and outage.headers["Retry-After"] == "1" and b"<error" in outage.data
    broken.extensions["gateway"].store.close()


def test_ready_when_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json() == {
        "status": "ready",
        "schema": head_revision(),
    }
    assert client.post("/readyz").status_code == 405 and client.post("/readyz").mimetype == "application/json"


def test_metrics_count_requests_latencies_and_connected_clients(client, svc, command):
    populations.load(svc.registry)
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        command("get_api_info")
    command("no_such_action")
    command("get_api_info", headers={"Authorization": "Bearer junk"})
    response = client.get("/metrics")
    after = response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain")

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("gateway_requests_total", face="command", action="get_api_info", status="200") == 3
    assert delta("gateway_requests_total", face="command", action="get_api_info", status="401") == 1
    assert delta("gateway_requests_total", face="command", action="unknown", status="200") == 1, (
        "bounded labels"
    )
    assert delta("gateway_request_duration_seconds_count", face="command", action="get_api_info") == 4
    assert sample(after, "gateway_connected_clients", type="support_customer") == 2
    assert sample(after, "gateway_connected_clients", type="representative") == 1
    assert "_created" not in after


def test_metrics_can_be_off(app_config):
    app = create_app({**app_config, "METRICS": False})
    response = app.test_client().get("/metrics")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    app.extensions["gateway"].store.close()


@pytest.mark.parametrize(
    "given, kept",
    [
        ("abc-123.x:y", True),
        ("0" * 128, True),
        ("0" * 129, False),
        ("two words", False),
        ('quote"d', False),
        ("", False),
    ],
)
def test_request_ids_are_accepted_when_sane_and_generated_otherwise(client, given, kept):
    headers = {"X-Request-ID": given} if given else {}
    echoed = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    if kept:
        assert echoed == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_one_json_log_line_per_request_without_query_strings(client, make_account, capsys):
    legacy = make_account(legacy_login=True, name="legacy")
    capsys.readouterr()
    client.get(
        "/api/command",
        query_string={"action": "get_api_info", "username": "legacy", "password": legacy.client_secret},
        headers={"X-Request-ID": "trace-1"},
    )
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [line] = [entry for entry in lines if entry.get("request_id") == "trace-1"]
    assert line["logger"] == "gateway.request" and line["level"] == "info"
    assert (line["method"], line["path"], line["face"], line["action"], line["status"]) == (
        "GET",
        "/api/command",
        "command",
        "get_api_info",
        200,
    )
    assert (
        line["account"] == legacy.account.client_id
        and line["duration_ms"] > 0
        and line["time"].endswith("+00:00")
    )
    assert legacy.client_secret not in json.dumps(lines)


def test_boolean_and_integer_settings_are_checked(app_config):
    app = create_app({**app_config, "JOURNAL": "no", "RATE_LIMIT": "on", "RATE_LIMIT_PER_SECOND": "5"})
    assert app.config["JOURNAL"] is False and app.config["RATE_LIMIT"] is True
    assert app.extensions["gateway"].controls.rate_limits.settings.per_second == 5
    app.extensions["gateway"].store.close()
    with pytest.raises(ConfigError, match="GATEWAY_JOURNAL"):
        create_app({**app_config, "JOURNAL": "maybe"})
    with pytest.raises(ConfigError, match="GATEWAY_RATE_LIMIT_PER_HOUR"):
        create_app({**app_config, "RATE_LIMIT_PER_HOUR": 0})
