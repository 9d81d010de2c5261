"""The command face's fast path (gateway/command/fast.py): a kept document answered before Flask is the
answer Flask gives - status, headers in order, bytes - and is journaled the same way; whatever could
change an answer (faults, rate limits, a revoked or expired token, a write, an error) goes through Flask.

(Rate limits: tests/controls/test_controls_ratelimit.py counts repeated get_connected_clients calls, kept
answers after the first.) Which path answered is seen through Flask's ``request_started`` signal, sent
for every request Flask dispatches and never for one answered before it."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import request_started

from gateway import create_app
from tests import populations
from tests.conftest import ValidatingClient

QUERIES = [
    "action=get_connected_clients",
    "action=get_connected_clients&include_connections=1",
    "action=get_connected_clients&id=101&include_connections=1",
    "action=get_connected_clients&id=101,102&id=104&type=all",
    "action=get_connected_clients&type=representative,push_agent",
    "action=get_connected_clients&id=101&password=not-journaled&username=x",
]
#: What differs between two answers to the same request (its id), and two journal entries of it.
PER_REQUEST = {"request_id", "ts", "time", "duration_ms", "seq"}


@pytest.fixture
def dispatched(app):
    """How many requests Flask dispatched (the fast path answers without it)."""
    seen: list[str] = []

    def count(sender, **_extra):
        seen.append("flask")

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def answer(client, url: str, auth: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    response = client.get(url, headers={**auth, "User-Agent": "inventory-adapter/2.1"})
    headers = [(k, v) for k, v in response.headers.to_wsgi_list() if k != "X-Request-ID"]
    return response.status_code, headers, response.data


def journal(svc, count: int) -> list[dict]:
    entries = svc.controls.journal.query(limit=count, tail=True)["entries"]
    return [{k: v for k, v in entry.items() if k not in PER_REQUEST} for entry in entries]


@contextmanager
def through_flask(app):
    """Requests skip the fast path meanwhile (the controls' middleware calls Flask directly)."""
    middleware = app.wsgi_app
    fast = middleware.app
    middleware.app = fast.app
    try:
        yield
    finally:
        middleware.app = fast


def flask_and_fast(app, client, url: str, auth: dict) -> tuple[tuple, tuple, tuple]:
    """The answers to ``url``: rendered (a miss), kept and sent by Flask, kept and sent by the fast path."""
    with through_flask(app):
        rendered = answer(client, url, auth)
        by_flask = answer(client, url, auth)
    return rendered, by_flask, answer(client, url, auth)


@pytest.mark.parametrize("path", ["/api/command", "/api/command.ns"])
def test_a_kept_document_is_answered_before_flask_as_flask_answers_it(
    app, client, auth, svc, dispatched, path
):
    populations.load(svc.registry)
    for query in QUERIES:
        del dispatched[:]
        rendered, by_flask, fast = flask_and_fast(app, client, f"{path}?{query}", auth)
        assert dispatched == ["flask", "flask"], f"{query}: the kept document went through Flask"
        assert rendered[0] == 200 and fast == by_flask and fast[2] == rendered[2]
        made, kept = journal(svc, 2)[-2:]
        assert kept == made and kept["action"] == "get_connected_clients" and kept["status"] == 200
        assert kept["account"] and kept["headers"]["User-Agent"] == "inventory-adapter/2.1"
        assert kept["headers"]["Authorization"] == "[redacted]"
        if "password" in query:
            assert kept["params"]["password"] == "[redacted]"


def test_with_connection_close_the_header_sits_where_flask_puts_it(
    app_config, demo_population, make_account, get_token
):
    app = create_app({**app_config, "CONNECTION_CLOSE": "true"})
    app.test_client_class = ValidatingClient
    client = app.test_client()
    auth = {"Authorization": f"Bearer {get_token(make_account())}"}  # tokens live in the shared database
    try:
        sizes = []
        for query in QUERIES[:3]:  # one chunk and several (a dump is kept in its chunks)
            _, by_flask, fast = flask_and_fast(app, client, f"/api/command?{query}", auth)
            assert ("Connection", "close") in fast[1] and fast == by_flask
            sizes.append(len(fast[2]))
        assert max(sizes) > 3 * 65536 > min(sizes)
    finally:
        app.extensions["gateway"].store.close()


def test_faults_tokens_writes_and_errors_still_decide(client, auth, svc, dispatched, admin_auth, feed):
    populations.load(svc.registry)
    url = "/api/command?action=get_connected_clients&id=101"
    kept = answer(client, url, auth)
    answer(client, url, auth)
    del dispatched[:]

    # A fault rule in force: Flask's hooks apply it, kept document or not.
    rule = client.post(
        "/api/v1/admin/faults", json={"error": {"status": 503, "message": "busy"}}, headers=admin_auth
    ).get_json()
    assert client.get(url, headers=auth).status_code == 503
    client.delete(f"/api/v1/admin/faults/{rule['id']}", headers=admin_auth)
    assert answer(client, url, auth) == kept
    del dispatched[:]

    # A write anywhere: the next answer is rendered again, with the write in it.
    response = client.post(
        "/api/v1/clients/101/events", json={"text": "Failed to reach node2", "kind": "failure"}, headers=feed
    )
    assert response.status_code == 200
    fresh = client.get(url + "&include_connections=1", headers=auth)
    assert b"Failed to reach node2" in fresh.data and dispatched[-1] == "flask"

    # Errors are Flask's to word: an unknown action, a bad parameter, no or a bad token, HEAD.
    for bad_url, headers, status in (
        ("/api/command?action=get_connected_clientz", auth, 200),
        (url + "&include_connections=maybe", auth, 200),
        (url, {}, 401),
        (url, {"Authorization": "Bearer not-a-token"}, 401),
    ):
        del dispatched[:]
        assert client.get(bad_url, headers=headers).status_code == status
        assert dispatched == ["flask"], bad_url
    del dispatched[:]
    assert client.head(url, headers=auth).status_code == 200 and dispatched == ["flask"]

    # Disabling the account revokes its token: refused at once, though its answer is kept.
    token = auth["Authorization"].split()[1]
    svc.accounts.set_enabled(svc.accounts.find_token(token).account.client_id, False)
    assert client.get(url, headers=auth).status_code == 401


def test_an_expired_token_is_refused_though_its_answer_is_kept(client, auth, svc, admin_auth):
    populations.load(svc.registry)
    url = "/api/command?action=get_connected_clients&id=101"
    answer(client, url, auth)
    answer(client, url, auth)
    advanced = client.post("/api/v1/admin/clock/advance", json={"seconds": 3601}, headers=admin_auth)
    assert advanced.status_code == 200
    assert client.get(url, headers=auth).status_code == 401


def fast_path(app):
    """The fast path's WSGI layer (inside the controls' middleware)."""
    return app.wsgi_app.app


def test_remembered_query_strings_and_header_sets_are_journaled_as_worked_out_afresh(
    app, client, auth, svc, dispatched
):
    populations.load(svc.registry)
    plain = "/api/command?action=get_connected_clients&id=101"
    legacy = plain + "&username=x&password=not-journaled"  # worked out every time: a password is not kept
    variants = [
        {"User-Agent": "inventory-adapter/2.1"},
        {"User-Agent": "inventory-adapter/2.2", "Accept": "application/xml"},
        {"User-Agent": "inventory-adapter/2.1", "X-Api-Key": "first-key"},
        {"User-Agent": "inventory-adapter/2.1", "X-Api-Key": "second-key", "X-Session-Id": "session-one"},
    ]
    for url in (plain, legacy):
        for headers in variants * 2:  # the second time round, what may be remembered is
            with through_flask(app):
                client.get(url, headers={**auth, **headers})
            del dispatched[:]
            client.get(url, headers={**auth, **headers})
            assert dispatched == [], "the fast path did not answer"
            by_flask, fast = journal(svc, 2)
            assert fast == by_flask and fast["params"]["id"] == "101"
            assert fast["headers"]["User-Agent"] == headers["User-Agent"]
            assert fast["headers"]["Authorization"] == "[redacted]"
            for secret in ("X-Api-Key", "X-Session-Id"):
                assert fast["headers"].get(secret, "[redacted]") == "[redacted]"
            assert fast["params"].get("password", "[redacted]") == "[redacted]"
    memo = fast_path(app)
    assert len(memo._queries) == 1 and len(memo._header_sets) == len(variants)
    token = auth["Authorization"].split()[1]
    remembered = repr(memo._queries) + repr(memo._header_sets)
    for secret in (token, "first-key", "session-one", "not-journaled"):
        assert secret not in remembered


def test_the_memos_are_bounded_and_keep_no_error_nor_long_text(app, client, auth, svc, monkeypatch):
    from gateway.command import fast

    populations.load(svc.registry)
    monkeypatch.setattr(fast, "MEMO_SIZE", 8)
    memo = fast_path(app)
    for n in range(30):  # kept, then answered by the fast path: each id a query string of its own
        for _ in range(2):
            client.get(f"/api/command?action=get_connected_clients&id={101 + n % 10}&n={n}", headers=auth)
        assert 0 < len(memo._queries) <= 8
    remembered = dict(memo._queries)
    long_query = "action=get_connected_clients&id=101&" + "&".join(f"x{n}=1" for n in range(200))
    bad_query = "action=get_connected_clients&id=101&include_connections=maybe"
    for query in (long_query, long_query, bad_query, bad_query):
        assert client.get(f"/api/command?{query}", headers=auth).status_code == 200
    assert memo._queries == remembered
