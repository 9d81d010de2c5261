"""Plumbing of the JSON face shared by feed, inspection and admin endpoints."""

from __future__ import annotations


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_admin_index_needs_the_admin_permission(client, make_account, get_token):
    assert client.get("/api/v1/admin/").status_code == 401
    body = client.get("/api/v1/admin/").get_json()
    assert body["error"] == "invalid_token" and body["message"]
    reader = get_token(make_account("full_access"))
    denied = client.get("/api/v1/admin/", headers=bearer(reader))
    assert denied.status_code == 403 and denied.get_json()["error"] == "insufficient_permission"
    admin = get_token(make_account("read_only", admin=True))
    response = client.get("/api/v1/admin/", headers=bearer(admin))
    assert response.status_code == 200 and "/api/v1/admin/" in response.get_json()["endpoints"]


def test_admin_surface_can_be_disabled(app_config, make_account):
    from gateway import create_app

    app = create_app({**app_config, "ADMIN_ENABLED": False})
    response = app.test_client().get("/api/v1/admin/")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    app.extensions["gateway"].store.close()


def test_unknown_json_paths_are_json_404(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.mimetype == "application/json"
