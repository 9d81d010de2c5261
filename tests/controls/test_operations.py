"""Operations: /livez, the build and fault metrics, /metrics through a database outage, the log formats."""

from __future__ import annotations

import json
import logging
import platform
from importlib.metadata import PackageNotFoundError, version

import pytest
from sqlalchemy.engine import make_url

from gateway import create_app
from gateway.controls.logging import JsonFormatter, RequestIdFilter, bind_request_id
from gateway.worker import RedactSecrets
from tests import populations
from tests.controls.test_controls_observability import sample
from tests.tcpproxy import TcpProxy


def installed_version() -> str:
    try:
        return version("connected-clients-gateway")
    except PackageNotFoundError:
        return "unknown"


def test_livez_answers_without_a_database(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'never-created' / 'x.db'}"})
    try:
        client = app.test_client()
        assert client.get("/livez").get_json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 503
    finally:
        app.extensions["gateway"].store.close()


def test_build_info_and_faults_fired(client, command, admin_auth, namespace):
    before = client.get("/metrics").get_data(as_text=True)
    assert sample(before, "gateway_database_up") == 1
    info = {"version": installed_version(), "python": platform.python_version()}
    assert sample(before, "gateway_build_info", **info, namespace=namespace) == 1
    rule = {"match": {"action": "get_api_info"}, "error": {"status": 503}, "times": 2}
    assert client.post("/api/v1/admin/faults", json=rule, headers=admin_auth).status_code == 201
    assert [command("get_api_info").status_code for _ in range(3)] == [503, 503, 200]
    after = client.get("/metrics").get_data(as_text=True)
    fired = sample(after, "gateway_faults_fired_total", kind="error")
    assert fired - sample(before, "gateway_faults_fired_total", kind="error") == 2


@pytest.mark.postgres
def test_metrics_answer_while_the_database_is_down(postgres_url):
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host, target.port or 5432).start()
    url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "DB_TIMEOUT": 2})
    try:
        populations.load(app.extensions["gateway"].registry)
        client = app.test_client()
        up = client.get("/metrics").get_data(as_text=True)
        assert sample(up, "gateway_database_up") == 1 and "gateway_connected_clients{" in up
        proxy.cut()
        down = client.get("/metrics")
        assert down.status_code == 200, down.get_data(as_text=True)[:300]
        text = down.get_data(as_text=True)
        assert sample(text, "gateway_database_up") == 0 and "gateway_connected_clients{" not in text
        assert "gateway_requests_total" in text and "gateway_build_info" in text
        assert client.get("/livez").status_code == 200 and client.get("/readyz").status_code == 503
        proxy.restore()
        assert sample(client.get("/metrics").get_data(as_text=True), "gateway_database_up") == 1
    finally:
        app.extensions["gateway"].store.close()
        proxy.close()


def access_record(message_args: dict, msg: str = '%(h)s "%(m)s %(U)s" %(s)s') -> logging.LogRecord:
    return logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, msg, (message_args,), None)


def test_gunicorn_access_lines_as_json_with_their_request_id():
    atoms = {"h": "10.0.0.1", "m": "GET", "U": "/api/command", "H": "HTTP/1.1", "s": "200", "B": 512}
    atoms |= {"f": "-", "a": "curl", "D": 1500, "{x-request-id}o": "abc"}
    line = json.loads(JsonFormatter().format(access_record(atoms)))
    assert line["request_id"] == "abc" and line["logger"] == "gunicorn.access"
    assert (line["method"], line["path"], line["status"], line["bytes"], line["duration_ms"]) == (
        "GET",
        "/api/command",
        200,
        512,
        1.5,
    )


def test_error_lines_carry_the_request_id_of_their_thread_and_secrets_stay_masked():
    record = logging.LogRecord(
        "gunicorn.error", logging.WARNING, __file__, 1, "Invalid request %s", ("GET /x?password=HUSH",), None
    )
    bind_request_id("req-42")
    try:
        assert RedactSecrets().filter(record) and RequestIdFilter().filter(record)
    finally:
        bind_request_id(None)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42" and "HUSH" not in line["message"]
    outside = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, "Booting worker", None, None)
    RequestIdFilter().filter(outside)
    assert json.loads(JsonFormatter().format(outside))["request_id"] is None


def test_text_request_log(app_config, capsys):
    app = create_app({**app_config, "LOG_FORMAT": "text"})
    try:
        response = app.test_client().get("/livez", headers={"X-Request-Id": "text-1"})
        assert response.status_code == 200
    finally:
        app.extensions["gateway"].store.close()
    logged = [line for line in capsys.readouterr().err.splitlines() if "gateway.request" in line]
    assert logged and not logged[-1].startswith("{")
    assert 'request_id="text-1"' in logged[-1] and 'path="/livez"' in logged[-1]
