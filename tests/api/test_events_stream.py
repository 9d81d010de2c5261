"""GET /api/v1/events in process, on both engines: the change log as server-sent events (ids, kinds, data),
resuming, filters, heartbeats, resync when changes are gone, the per-worker cap, and bad resume points.
Streams here last a fraction of a second (GATEWAY_STREAM_MAX_SECONDS), so a whole stream is one body."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gateway.clock import iso8601
from gateway.registry.model import Event
from gateway.registry.operations import AppendEvents, Connect, Disconnect, Update
from tests import inspecting, populations
from tests.sse import events, parse

SHORT = {
    "STREAM_MAX_SECONDS": 0.3,
    "STREAM_POLL_SECONDS": 0.02,
    "STREAM_HEARTBEAT_SECONDS": 0.1,
    "REQUEST_LOG": False,
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, **SHORT}


def stream(client, auth, headers=None, **params) -> str:
    with client.get("/api/v1/events", query_string=params, headers={**auth, **(headers or {})}) as response:
        assert response.status_code == 200, response.get_data()
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        return response.get_data(as_text=True)


def write_some(svc) -> None:
    """reset (1), connect 1..3 (2-4), event on 1 (5), update 2 (6), disconnect 3 (7)."""
    populations.load(svc.registry)  # one reset change
    svc.registry.apply(
        [Connect(inspecting.client(0, 1)), Connect(inspecting.client(1, 2)), Connect(inspecting.client(2, 3))]
    )
    svc.registry.apply([AppendEvents(1, [Event(inspecting.NOW, "Failed to connect", "failure")])])
    svc.registry.apply([Update(2, {"hostname": "renamed"})])
    svc.registry.apply([Disconnect(3, "Logged out", "client")])


def test_replays_the_log_with_growing_ids_kinds_and_json_data(client, auth, svc):
    write_some(svc)
    text = stream(client, auth, last_event_id=0)
    assert text.startswith("retry: 3000\n")
    got = events(text)
    assert [(int(e["id"]), e["event"]) for e in got] == [
        (1, "reset"),
        (2, "connect"),
        (3, "connect"),
        (4, "connect"),
        (5, "event"),
        (6, "update"),
        (7, "disconnect"),
    ]
    connect = got[1]["data"]
    assert connect["seq"] == 2 and connect["kind"] == "connect" and connect["client_id"] == 1
    assert (
        connect["type"] == "representative" and connect["payload"]["client"]["hostname"] == "DESKTOP-7F3KQ2A"
    )
    assert got[4]["data"]["payload"]["events"][0]["text"] == "Failed to connect"
    assert got[5]["data"]["payload"]["fields"] == ["hostname"]
    assert (
        got[6]["data"]["payload"]["reason"] == "Logged out"
        and got[6]["data"]["type"] == "presentation_attendee"
    )
    assert parse(text)[-1]["comments"] == ["stream ends; reconnect with Last-Event-ID"]


def test_time_format_shows_the_events_times_as_iso_8601_or_epoch_milliseconds(client, auth, svc):
    write_some(svc)
    unix = events(stream(client, auth, last_event_id=0))
    iso = events(stream(client, auth, last_event_id=0, time_format="iso"))
    ms = events(stream(client, auth, last_event_id=0, time_format="epoch_ms"))
    assert [e["id"] for e in unix] == [e["id"] for e in iso] == [e["id"] for e in ms]
    for a, b, c in zip(unix, iso, ms, strict=True):
        assert b["data"]["ts"] == iso8601(a["data"]["ts"]) and c["data"]["ts"] == a["data"]["ts"] * 1000
    connect = (unix[1]["data"]["payload"]["client"], iso[1]["data"]["payload"]["client"])
    assert connect[1]["connected_since"] == iso8601(connect[0]["connected_since"])
    gone = (unix[6]["data"]["payload"], ms[6]["data"]["payload"])
    assert gone[1]["disconnected_at"] == gone[0]["disconnected_at"] * 1000
    assert unix[4]["data"]["payload"]["events"][0]["ts"] * 1000 == ms[4]["data"]["payload"]["events"][0]["ts"]


def test_resumes_after_last_event_id_which_wins_over_the_parameter(client, auth, svc):
    write_some(svc)
    assert [e["id"] for e in events(stream(client, auth, headers={"Last-Event-ID": "5"}))] == ["6", "7"]
    assert [e["id"] for e in events(stream(client, auth, last_event_id=6))] == ["7"]
    assert [
        e["id"] for e in events(stream(client, auth, headers={"Last-Event-ID": "6"}, last_event_id=1))
    ] == ["7"]
    assert events(stream(client, auth, headers={"Last-Event-ID": "7"})) == []


def test_without_a_resume_point_only_new_changes_arrive(app, auth, svc):
    write_some(svc)
    live = FlaskClient(app)  # reads the body as it comes (the validating client reads it whole first)
    with live.get("/api/v1/events", headers=auth) as response:
        chunks = iter(response.response)
        assert next(chunks).startswith(b"retry:")
        svc.registry.apply([AppendEvents(1, [Event(inspecting.NOW, "later", "info")])])
        text = b"".join(chunks).decode()
    assert [(e["id"], e["event"]) for e in events(text)] == [("8", "event")]


def test_filters_by_kind_type_and_id_and_resets_pass_type_and_id_filters(client, auth, svc):
    write_some(svc)
    assert [e["id"] for e in events(stream(client, auth, last_event_id=0, kind="connect,disconnect"))] == [
        "2",
        "3",
        "4",
        "7",
    ]
    assert [e["id"] for e in events(stream(client, auth, last_event_id=0, type="representative"))] == [
        "1",
        "2",
        "5",
    ]
    assert [e["id"] for e in events(stream(client, auth, last_event_id=0, id="2,3"))] == [
        "1",
        "3",
        "4",
        "6",
        "7",
    ]
    assert [e["id"] for e in events(stream(client, auth, last_event_id=0, kind="event", id=[1, 2]))] == ["5"]


def test_heartbeats_move_the_resume_point_past_filtered_changes(client, auth, svc):
    write_some(svc)
    blocks = parse(stream(client, auth, last_event_id=0, kind="reset"))
    assert [b.get("event") for b in blocks if "event" in b] == ["reset"]
    heartbeats = [b for b in blocks if b.get("comments") == ["keepalive"]]
    assert heartbeats and heartbeats[0]["id"] == "7"  # no event, but a reconnect starts after 7
    assert all("id" not in b for b in heartbeats[1:])


def test_a_resume_point_older_than_the_log_gets_resync(app_config, make_account, get_token):
    from gateway import create_app

    app = create_app({**app_config, "CHANGES_KEEP": 3})
    try:
        svc = app.extensions["gateway"]
        client = app.test_client()
        auth = {"Authorization": f"Bearer {get_token_for(client, svc)}"}
        write_some(svc)
        got = events(stream(client, auth, last_event_id=2))
        assert got[0]["event"] == "resync" and got[0]["id"] == "4"
        assert got[0]["data"]["last_event_id"] == 2 and got[0]["data"]["resume_after"] == 4
        assert [e["id"] for e in got[1:]] == ["5", "6", "7"]
        assert events(stream(client, auth, last_event_id=4))[0]["id"] == "5", (
            "no resync when nothing is missing"
        )
        ahead = events(stream(client, auth, headers={"Last-Event-ID": "99"}))
        assert [(e["event"], e["id"]) for e in ahead] == [("resync", "7")]
        populations.load(svc.registry)  # a reset clears the log: a stream at 5 missed 6 and 7
        got = events(stream(client, auth, last_event_id=5))
        assert [(e["event"], e["id"]) for e in got] == [("resync", "7"), ("reset", "8")]
    finally:
        app.extensions["gateway"].store.close()


def get_token_for(client, svc) -> str:
    creds = svc.accounts.create("streamer", "read_only")
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.account.client_id, creds.client_secret),
    )
    return response.get_json()["access_token"]


def test_each_worker_serves_at_most_its_share_of_streams(app, client, auth, svc):
    svc.streams.limit = 2
    first = client.get("/api/v1/events", headers=auth)
    second = client.get("/api/v1/events", headers=auth)
    refused = client.get("/api/v1/events", headers=auth)
    assert (first.status_code, second.status_code, refused.status_code) == (200, 200, 503)
    assert refused.headers["Retry-After"] == "3" and refused.get_json()["error"] == "too_many_streams"
    first.close()
    with client.get("/api/v1/events", headers=auth) as again:
        assert again.status_code == 200
    second.close()
    assert svc.streams.open == 0
    assert client.get("/api/v1/command", headers=auth).status_code == 404  # other requests are not counted


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "9" * 30, "\u00b2", "1 2"])
def test_a_bad_last_event_id_is_a_400_naming_it(client, auth, value):
    response = client.get("/api/v1/events", headers={**auth, "Last-Event-ID": value})
    assert response.status_code == 400 and response.get_json()["details"]["field"] == "Last-Event-ID"


def test_a_stream_is_journaled_when_it_opens(client, auth, svc):
    stream(client, auth, kind="connect")
    [entry] = list(svc.controls.journal.query(action="events.events")["entries"])
    assert entry["status"] == 200 and entry["params"] == {"kind": "connect"}
