"""The OpenAPI document of the JSON face: it covers every /api/v1 route, real answers conform to it, and
schemathesis (in process, on both engines) provokes no 5xx and no answer that breaks it."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from gateway import create_app
from tests import populations
from tests.conftest import ValidatingClient

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def operations(document: dict) -> set[tuple[str, str]]:
    """(method, path) of every operation the document describes."""
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }


def test_every_json_route_is_documented_and_nothing_else(app, client):
    routes, endpoints = set(), set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method.lower(), re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)))
                endpoints.add(rule.endpoint.replace(".", "_"))
    document = client.get("/api/v1/openapi.json").get_json()
    assert routes == operations(document)
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method != "parameters"
    ]
    assert len(ids) == len(set(ids)) and {re.sub(r"_(put|patch)$", "", i) for i in ids} == endpoints


def test_the_document_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /oauth2/token (client credentials).",
    }
    assert set(document["components"]["schemas"]["Error"]["properties"]) == {"error", "message", "details"}
    assert {p["name"] for p in document["paths"]["/api/v1/clients"]["get"]["parameters"]} >= {
        "type",
        "status",
        "id",
        "hostname",
        "name",
        "username",
        "appliance",
        "platform",
        "private_ip",
        "connected_after",
        "connected_before",
        "disconnected_after",
        "disconnected_before",
        "last_activity_after",
        "last_activity_before",
        "disconnect_reason",
        "disconnect_initiator",
        "order_by",
        "order",
        "page",
        "page_size",
        "offset",
        "count",
        "time_format",
        "min_event_count",
        "max_event_count",
        "min_connection_count",
        "max_connection_count",
        "min_support_session_count",
        "max_support_session_count",
        "min_presentation_count",
        "max_presentation_count",
        "min_duration",
        "max_duration",
    }
    record = document["components"]["schemas"]
    assert any("duration" in schema.get("properties", {}) for schema in record.values())


@pytest.fixture
def api(app_config):
    """(app, schemathesis schema, {access: headers}) on a registry holding the small population."""
    app = create_app(
        {**app_config, "REQUEST_LOG": False, "STREAM_MAX_SECONDS": 0.05, "STREAM_POLL_SECONDS": 0.01}
    )
    app.test_client_class = ValidatingClient
    svc = app.extensions["gateway"]
    populations.load(svc.registry)
    client = app.test_client()

    def token(creds) -> dict:
        response = client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
        )
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    headers = {
        "reader": token(svc.accounts.create("reader", "read_only")),
        "feeder": token(svc.accounts.create("feeder", "deny", feed=True)),
    }
    yield app, schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), headers
    svc.store.close()


def test_real_answers_conform_to_the_document(api):
    app, schema, headers = api
    client = app.test_client()
    feeder, reader = headers["feeder"], headers["reader"]
    assert (
        client.post(
            "/api/v1/clients/102/disconnect", json={"reason": "bye", "initiator": "network"}, headers=feeder
        ).status_code
        == 200
    )
    calls = [
        ("GET", "/api/v1/clients", "/api/v1/clients?order_by=last_activity&order=desc", reader),
        ("GET", "/api/v1/clients", "/api/v1/clients?status=disconnected", reader),
        ("GET", "/api/v1/clients/{client_id}", "/api/v1/clients/101", reader),
        ("GET", "/api/v1/clients/{client_id}", "/api/v1/clients/102", reader),
        ("GET", "/api/v1/clients/{client_id}/log", "/api/v1/clients/101/log", reader),
        ("GET", "/api/v1/connection-log", "/api/v1/connection-log?page_size=100", reader),
        ("GET", "/api/v1/clients", "/api/v1/clients?pageSize=3", reader),
        ("GET", "/api/v1/clients", "/api/v1/clients?count=-1&time_format=iso&order_by=duration", reader),
        ("GET", "/api/v1/clients", "/api/v1/clients?status=closed&time_format=epoch_ms", reader),
        ("GET", "/api/v1/clients/{client_id}", "/api/v1/clients/102?time_format=iso", reader),
        ("GET", "/api/v1/connection-log", "/api/v1/connection-log?time_format=iso", reader),
        ("GET", "/api/v1/clients", "/api/v1/clients", feeder),
    ]
    for method, documented, path, auth in calls:
        response = client.open(path, method=method, headers=auth)
        assert response.status_code in (200, 400, 403)
        schema[documented][method].validate_response(response)


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(api, mode):
    """Every operation, each case sent with a read_only token and with a feed token; negative cases (input
    that breaks the document) must also be refused with a 4xx."""
    app, schema, headers = api
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    found = [result.ok() for result in schema.get_all_operations()]
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    # Every operation but the document itself, which schemathesis leaves out.
    assert {op.label for op in found} == {
        f"{method.upper()} {path}" for method, path in operations(document)
    } - {"GET /api/v1/openapi.json"}
    for operation in found:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            for auth in headers.values():
                case.validate_response(case.call(headers=auth), checks=checks)

        run()
