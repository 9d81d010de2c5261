"""The inspection API over HTTP: client records (filters, orders, pages), details of ids with several
records, connection logs, retention on read, bad parameters and permissions. Every test runs on SQLite
and PostgreSQL; a hypothesis test compares random queries with the same filters applied in Python."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.clock import iso8601
from gateway.registry.inspection import CLIENT_ORDERS, CLIENT_RANGES
from gateway.registry.model import Event
from gateway.registry.operations import AppendEvents, Connect, Disconnect
from tests import inspecting
from tests.inspecting import NOW


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def history(svc):
    inspecting.build(svc)
    return svc


@pytest.fixture
def get(client, auth):
    def call(path: str, expect: int = 200, headers: dict | None = None, **params):
        response = client.get(path, query_string=params, headers=auth if headers is None else headers)
        assert response.status_code == expect, response.get_json()
        assert response.mimetype == "application/json"
        return response.get_json()

    return call


def all_records(get) -> list[dict]:
    items = []
    for page in (1, 2):
        items += get("/api/v1/clients", page=page, page_size=100)["items"]
    return items


# --- lists, pages ---------------------------------------------------------------------------------
def test_lists_connected_and_disconnected_records_with_page_metadata(history, get):
    body = get("/api/v1/clients", page_size=7, page=2)
    assert body["pagination"] == {
        "page": 2,
        "page_size": 7,
        "pages": 5,
        "total": 32,
        "has_next": True,
        "has_prev": True,
        "offset": 7,
        "count": 7,
    }
    assert [item["id"] for item in body["items"]] == [6, 7, 8, 9, 10, 11, 12]
    last = get("/api/v1/clients", page_size=7, page=5)
    assert last["pagination"]["has_next"] is False and last["pagination"]["count"] == 4
    beyond = get("/api/v1/clients", page=9)
    assert (
        beyond["items"] == [] and beyond["pagination"]["total"] == 32 and not beyond["pagination"]["has_next"]
    )
    mosquitto = get("/api/v1/clients", offset=3, count=2)
    assert [i["id"] for i in mosquitto["items"]] == [3, 4]  # ids 1 and 5 have two records each
    assert mosquitto["pagination"] == {
        "page": 2,
        "page_size": 2,
        "pages": 16,
        "total": 32,
        "has_next": True,
        "has_prev": True,
        "offset": 3,
        "count": 2,
    }
    assert get("/api/v1/clients")["pagination"]["page_size"] == 20


def test_a_record_shows_state_activity_and_counts(history, get):
    [item] = get("/api/v1/clients", record=1)["items"]
    assert item["id"] == 1 and item["connected"] is False
    assert (item["disconnected_at"], item["disconnect_reason"], item["disconnect_initiator"]) == (
        NOW - 4000,
        "Logged out",
        "client",
    )
    assert item["last_activity"] == NOW - 4000 and item["event_count"] == 5  # connect + 3 + disconnect
    assert "events" not in item and item["connections"][0]["appliance_id"] == inspecting.TRAFFIC
    [live] = get("/api/v1/clients", id=2)["items"]
    assert live["disconnected_at"] is None and live["disconnect_reason"] is None and live["connected"] is True


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"hostname": "desk"}, {"DESKTOP-7F3KQ2A", "desktop-x1", "Desk"}),
        ({"hostname": "a%"}, {"a%b"}),
        ({"hostname": "a_"}, {"a_b"}),
        ({"hostname": "A\\"}, {"A\\B"}),
        ({"hostname": "WS-"}, {"WS-JSMITH", "ws-akhan"}),
    ],
)
def test_prefix_filters_ignore_case_and_take_wildcards_literally(history, get, params, expected):
    assert {i["hostname"] for i in get("/api/v1/clients", page_size=100, **params)["items"]} == expected


def test_name_username_and_platform_prefixes(history, get):
    names = {i["name"] for i in get("/api/v1/clients", name="ZOE", page_size=100)["items"]}
    assert names == {"Zoe O'Brien", "zoe smith"}
    assert {i["name"] for i in get("/api/v1/clients", name="50%", page_size=100)["items"]} == {"50% off"}
    users = {
        i["representative"]["username"]
        for i in get("/api/v1/clients", username="jsmith", page_size=100)["items"]
    }
    assert users == {"jsmith", "JSmith2"}
    assert {
        i["representative"]["username"] for i in get("/api/v1/clients", username="a_", page_size=100)["items"]
    } == {"a_khan"}
    assert {i["platform"] for i in get("/api/v1/clients", platform="windows", page_size=100)["items"]} == {
        "Windows 11 Pro (x64)",
        "Windows 10 Pro (x86)",
    }


def test_time_windows_are_inclusive_and_take_iso_8601(history, get):
    items = get(
        "/api/v1/clients",
        connected_after=NOW - 10_000 + 300,
        connected_before=NOW - 10_000 + 900,
        page_size=100,
    )["items"]
    assert sorted(i["connected_since"] for i in items) == [NOW - 9700, NOW - 9400, NOW - 9100]
    iso = get(
        "/api/v1/clients",
        connected_after="2027-01-15T05:18:20+00:00",
        connected_before="2027-01-15T05:28:20Z",
        page_size=100,
    )["items"]
    assert sorted(i["connected_since"] for i in iso) == [NOW - 9700, NOW - 9400, NOW - 9100]
    gone = get(
        "/api/v1/clients", disconnected_after=NOW - 4000, disconnected_before=NOW - 3200, page_size=100
    )["items"]
    assert sorted(i["disconnected_at"] for i in gone) == [NOW - 4000, NOW - 3600, NOW - 3200]


def test_status_reason_initiator_appliance_ip(history, get):
    assert {i["id"] for i in get("/api/v1/clients", status="disconnected", page_size=100)["items"]} == {
        1,
        5,
        9,
        13,
        17,
        21,
        25,
        29,
    }
    assert get("/api/v1/clients", status="connected")["pagination"]["total"] == 24
    assert {i["id"] for i in get("/api/v1/clients", disconnect_initiator="network,server")["items"]} == {
        5,
        9,
        17,
        21,
        29,
    }
    assert {i["id"] for i in get("/api/v1/clients", disconnect_reason="timeout")["items"]} == {9, 25}
    upper = inspecting.TRAFFIC.upper()
    assert {i["id"] for i in get("/api/v1/clients", appliance=upper, page_size=100)["items"]} == {
        i["id"]
        for i in all_records(get)
        if any(c["appliance_id"] == inspecting.TRAFFIC for c in i["connections"])
    }
    assert {i["record"] for i in get("/api/v1/clients", private_ip="192.168.1.5")["items"]} == {6}


@pytest.mark.parametrize("order_by", CLIENT_ORDERS)
def test_every_order_pages_without_overlap(history, get, order_by):
    for order in ("asc", "desc"):
        pages = [
            get("/api/v1/clients", order_by=order_by, order=order, page_size=9, page=p)["items"]
            for p in (1, 2, 3, 4)
        ]
        records = [i["record"] for page in pages for i in page]
        assert sorted(records) == list(range(1, 33))
        assert records == [i["record"] for i in expected_order(all_records(get), order_by, order == "desc")]


def sort_key(item: dict, order_by: str):
    if order_by == "connection_count":
        return len(item["connections"])
    if order_by in ("support_session_count", "presentation_count"):
        return item.get("representative", {}).get(order_by, 0)
    return item[order_by]


def expected_order(items: list[dict], order_by: str, descending: bool) -> list[dict]:
    present = [i for i in items if sort_key(i, order_by) is not None]
    missing = [i for i in items if sort_key(i, order_by) is None]
    ordered = sorted(present, key=lambda i: (sort_key(i, order_by), i["record"]), reverse=descending)
    return ordered + sorted(missing, key=lambda i: i["record"], reverse=descending)


# --- random queries against the same filters in Python -----------------------------------------------
def matches(item: dict, q: dict) -> bool:
    def prefix(value, wanted):
        return value is not None and value.lower().startswith(wanted.lower())

    checks = {
        "type": lambda v: item["type"] in v.split(","),
        "status": lambda v: item["connected"] == (v == "connected"),
        "hostname": lambda v: prefix(item["hostname"], v),
        "name": lambda v: prefix(item.get("name"), v),
        "username": lambda v: prefix(item.get("representative", {}).get("username"), v),
        "platform_id": lambda v: item["platform_id"] == v,
        "appliance": lambda v: any(c["appliance_id"].lower() == v.lower() for c in item["connections"]),
        "connected_after": lambda v: item["connected_since"] >= v,
        "connected_before": lambda v: item["connected_since"] <= v,
        "last_activity_after": lambda v: item["last_activity"] >= v,
        "disconnected_before": lambda v: item["disconnected_at"] is not None and item["disconnected_at"] <= v,
        "disconnect_initiator": lambda v: item["disconnect_initiator"] == v,
    }
    for name in CLIENT_RANGES:
        checks[f"min_{name}"] = lambda v, name=name: sort_key(item, name) >= v
        checks[f"max_{name}"] = lambda v, name=name: sort_key(item, name) <= v
    aliases = {"active": "connected", "closed": "disconnected"}
    return all(
        checks[k](aliases.get(v, v) if k == "status" else v)
        for k, v in q.items()
        if k not in ("order_by", "order")
    )


QUERIES = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sets(
            st.sampled_from(["representative", "support_customer", "presentation_attendee", "push_agent"]),
            min_size=1,
        ).map(",".join),
        "status": st.sampled_from(["connected", "disconnected", "active", "closed"]),
        "min_event_count": st.integers(0, 8),
        "max_event_count": st.integers(0, 8),
        "min_connection_count": st.integers(0, 3),
        "max_connection_count": st.integers(0, 3),
        "min_support_session_count": st.integers(0, 3),
        "max_support_session_count": st.integers(0, 3),
        "min_presentation_count": st.integers(0, 3),
        "max_presentation_count": st.integers(0, 3),
        "min_duration": st.integers(0, 12_000),
        "max_duration": st.integers(0, 12_000),
        "hostname": st.sampled_from(["d", "DESK", "a", "a%", "a_", "ws", "x", "A\\"]),
        "name": st.sampled_from(["z", "Zoe ", "50", "RDP: srv%", "q"]),
        "username": st.sampled_from(["j", "JS", "a_", "ak"]),
        "platform_id": st.sampled_from([p for _, p in inspecting.PLATFORMS]),
        "appliance": st.sampled_from([inspecting.PRIMARY, inspecting.TRAFFIC.upper()]),
        "connected_after": st.integers(NOW - 11_000, NOW + 3000),
        "connected_before": st.integers(NOW - 11_000, NOW + 3000),
        "last_activity_after": st.integers(NOW - 11_000, NOW + 3000),
        "disconnected_before": st.integers(NOW - 5000, NOW),
        "disconnect_initiator": st.sampled_from(["client", "server", "network"]),
        "order_by": st.sampled_from(CLIENT_ORDERS),
        "order": st.sampled_from(["asc", "desc"]),
    },
)


def test_random_queries_select_and_order_as_the_same_filters_in_python(history, get):
    everything = all_records(get)

    @given(QUERIES)
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def check(q):
        body = get("/api/v1/clients", page_size=100, **q)
        wanted = expected_order(
            [i for i in everything if matches(i, q)], q.get("order_by", "id"), q.get("order") == "desc"
        )
        assert [i["record"] for i in body["items"]] == [i["record"] for i in wanted]
        assert body["pagination"]["total"] == len(wanted)

    check()


def test_status_takes_the_peer_aliases_active_and_closed(history, get):
    for alias, ours in (("active", "connected"), ("closed", "disconnected")):
        assert get("/api/v1/clients", status=alias, count=-1) == get("/api/v1/clients", status=ours, count=-1)


def test_records_have_a_duration_to_their_disconnect_or_to_now(history, get):
    for item in all_records(get):
        end = NOW if item["connected"] else item["disconnected_at"]
        assert item["duration"] == max(0, end - item["connected_since"])
    durations = [i["duration"] for i in get("/api/v1/clients", order_by="duration", count=-1)["items"]]
    assert durations == sorted(durations) and len(set(durations)) > 3
    detail = get("/api/v1/clients/1")  # connected after NOW (the clock is frozen at NOW): 0
    assert detail["duration"] == 0
    old = detail["records"][1]
    assert old["duration"] == old["disconnected_at"] - old["connected_since"] > 0


def test_range_filters_are_inclusive(history, get):
    everything = all_records(get)
    for name in CLIENT_RANGES:
        values = sorted({sort_key(i, name) for i in everything})
        low, high = values[0], values[len(values) // 2]
        body = get("/api/v1/clients", count=-1, **{f"min_{name}": low, f"max_{name}": high})
        wanted = [i["record"] for i in everything if low <= sort_key(i, name) <= high]
        assert sorted(i["record"] for i in body["items"]) == sorted(wanted) and wanted, name
    assert get("/api/v1/clients", min_event_count=5, max_event_count=4)["pagination"]["total"] == 0


def test_count_minus_one_is_every_item_up_to_the_configured_maximum(app, history, get):
    body = get("/api/v1/clients", count=-1)
    assert len(body["items"]) == body["pagination"]["total"] == 32 and not body["pagination"]["has_next"]
    assert get("/api/v1/connection-log", count=-1)["pagination"]["count"] > 32
    app.config["LIST_ALL_MAX"] = 10
    capped = get("/api/v1/clients", count=-1, offset=5)
    assert [i["record"] for i in capped["items"]] == [i["record"] for i in all_records(get)[5:15]]
    assert capped["pagination"]["has_next"] is True


@pytest.mark.parametrize(
    "path", ["/api/v1/clients", "/api/v1/clients/1", "/api/v1/clients/1/log", "/api/v1/connection-log"]
)
def test_time_format_shows_every_time_as_iso_8601_or_epoch_milliseconds(history, get, path):
    params = {} if path == "/api/v1/clients/1" else {"count": -1}
    unix = get(path, **params)
    iso = get(path, time_format="iso", **params)
    ms = get(path, time_format="epoch_ms", **params)
    assert get(path, time_format="unix", **params) == unix
    seen = []

    def compare(a, b, c, key=None):
        if isinstance(a, dict):
            assert set(a) == set(b) == set(c)
            for k in a:
                compare(a[k], b[k], c[k], k)
        elif isinstance(a, list):
            for x, y, z in zip(a, b, c, strict=True):
                compare(x, y, z, key)
        elif (
            key
            in (
                "connected_since",
                "disconnected_at",
                "last_activity",
                "ts",
                "last_connected_at",
                "last_disconnected_at",
            )
            and a is not None
        ):
            seen.append(key)
            assert (b, c) == (iso8601(a), a * 1000)
        else:
            assert a == b == c, key

    compare(unix, iso, ms)
    assert seen


# --- details --------------------------------------------------------------------------------------
def test_an_id_with_a_connected_and_a_disconnected_record(history, get):
    detail = get("/api/v1/clients/1")
    assert detail["connected"] is True and detail["record"] == 31
    assert [(r["record"], r["connected"]) for r in detail["records"]] == [(31, True), (1, False)]
    assert detail["last_connected_at"] == detail["connected_since"] == NOW + 2000
    assert detail["last_disconnected_at"] == NOW - 4000
    assert [e["kind"] for e in detail["events"]] == ["connect"]
    old = get("/api/v1/clients/1", record=1)
    assert old["connected"] is False and old["record"] == 1 and old["disconnect_reason"] == "Logged out"
    assert [e["kind"] for e in old["events"]] == ["connect", "info", "failure", "update", "disconnect"]
    assert old["records"] == detail["records"]
    missing = get("/api/v1/clients/1", 404, record=2)
    assert missing["details"]["field"] == "record"


def test_detail_of_a_disconnected_id_and_of_a_live_one(history, get):
    gone = get("/api/v1/clients/9")
    assert (
        gone["connected"] is False and gone["last_disconnected_at"] == gone["disconnected_at"] == NOW - 3200
    )
    live = get("/api/v1/clients/3")
    assert (live["last_disconnected_at"] is None and live["events"][-1]["text"] == "event 5 of 2") or live[
        "events"
    ]
    assert get("/api/v1/clients/999", 404)["error"] == "not_found"


def test_details_show_the_last_20_events_and_the_log_has_all_of_them(history, get):
    history.registry.apply([AppendEvents(3, [Event(NOW + k, f"step {k}", "info") for k in range(60)])])
    detail = get("/api/v1/clients/3")
    assert (
        len(detail["events"]) == 20
        and detail["events"][-1]["text"] == "step 59"
        and detail["event_count"] == 61
    )
    log = get("/api/v1/clients/3/log", page_size=100)
    assert log["pagination"]["total"] == 61 and log["items"][0]["kind"] == "connect"
    assert [e["text"] for e in log["items"][1:]] == [f"step {k}" for k in range(60)]
    assert {(e["client_id"], e["record"], e["type"]) for e in log["items"]} == {
        (3, 3, "presentation_attendee")
    }
    window = get("/api/v1/clients/3/log", after=NOW + 10, before=NOW + 12, order="desc")
    assert [e["text"] for e in window["items"]] == ["step 12", "step 11", "step 10"]
    page = get("/api/v1/clients/3/log", page=3, page_size=25)
    assert page["pagination"]["count"] == 11 and not page["pagination"]["has_next"]


def test_a_client_log_spans_the_records_of_its_id(history, get):
    log = get("/api/v1/clients/1/log", page_size=100)
    assert [e["record"] for e in log["items"]] == [1] * 5 + [31]
    assert [e["record"] for e in get("/api/v1/clients/1/log", record=31)["items"]] == [31]
    assert (
        get("/api/v1/clients/1/log", kind="disconnect")["items"][0]["text"]
        == "Disconnected by the client: Logged out"
    )
    assert get("/api/v1/clients/777/log", 404)["details"]["field"] == "id"


def test_the_connection_log_filters_by_kind_type_id_and_time(history, get):
    everything = get("/api/v1/connection-log", page_size=100)
    total = everything["pagination"]["total"]
    assert total == history.store.registry.count_clients() * 0 + total > 32
    failures = get("/api/v1/connection-log", kind="failure", page_size=100)["items"]
    assert failures and {e["kind"] for e in failures} == {"failure"}
    reps = get("/api/v1/connection-log", type="representative", kind="connect", page_size=100)["items"]
    assert {e["type"] for e in reps} == {"representative"} and len(reps) == 9
    assert {e["client_id"] for e in get("/api/v1/connection-log", id="1,2", page_size=100)["items"]} == {1, 2}
    by_ts = get("/api/v1/connection-log", order_by="ts", order="desc", count=3, offset=0)["items"]
    assert [e["ts"] for e in by_ts] == sorted([e["ts"] for e in by_ts], reverse=True)
    assert by_ts[0]["ts"] == max(
        e["ts"] for e in everything["items"] + get("/api/v1/connection-log", page=2, page_size=100)["items"]
    )


# --- retention -------------------------------------------------------------------------------------
def test_records_past_retention_are_hidden_without_any_write(history, client, make_account, get_token):
    def get(path, expect=200, **params):
        response = client.get(path, query_string=params, headers=bearer(get_token(make_account())))
        assert response.status_code == expect
        return response.get_json()

    assert get("/api/v1/clients", status="disconnected")["pagination"]["total"] == 8
    retention = 86400
    # The oldest disconnect is at NOW - 4000: move to just before and just after it leaves.
    history.controls.clock_control.set(NOW - 4000 + retention, frozen=True)
    assert get("/api/v1/clients", status="disconnected")["pagination"]["total"] == 8
    history.controls.clock_control.set(NOW - 4000 + retention + 1, frozen=True)
    assert get("/api/v1/clients", status="disconnected")["pagination"]["total"] == 7
    assert history.store.registry.count_clients(connected=False) == 8, "no write purged it: the read hid it"
    assert get("/api/v1/clients/1")["records"] == [
        r for r in get("/api/v1/clients/1")["records"] if r["record"] == 31
    ]
    assert get("/api/v1/clients/1", 404, record=1)["details"]["field"] == "record"
    assert {e["record"] for e in get("/api/v1/clients/1/log")["items"]} == {31}
    assert 1 not in {e["record"] for e in get("/api/v1/connection-log", page_size=100, id=1)["items"]}


# --- bad parameters and permissions ---------------------------------------------------------------
@pytest.mark.parametrize(
    "path, params, field",
    [
        ("/api/v1/clients", {"pageSize": "5"}, "pageSize"),
        ("/api/v1/clients", {"page_size": "101"}, "page_size"),
        ("/api/v1/clients", {"page_size": "0"}, "page_size"),
        ("/api/v1/clients", {"page": "0"}, "page"),
        ("/api/v1/clients", {"offset": "-1"}, "offset"),
        ("/api/v1/clients", {"count": "-2"}, "count"),
        ("/api/v1/clients", {"count": "0"}, "count"),
        ("/api/v1/clients", {"time_format": "rfc822"}, "time_format"),
        ("/api/v1/clients/1", {"time_format": "ISO"}, "time_format"),
        ("/api/v1/connection-log", {"time_format": ""}, "time_format"),
        ("/api/v1/clients", {"min_event_count": "-1"}, "min_event_count"),
        ("/api/v1/clients", {"max_duration": "1.5"}, "max_duration"),
        ("/api/v1/clients", {"min_duration": str(2**63)}, "min_duration"),
        ("/api/v1/clients", {"offset": "2", "page": "1"}, "offset"),
        ("/api/v1/clients", {"type": "robot"}, "type"),
        ("/api/v1/clients", {"status": "gone"}, "status"),
        ("/api/v1/clients", {"status": ["connected", "disconnected"]}, "status"),
        ("/api/v1/clients", {"connected_after": "yesterday"}, "connected_after"),
        ("/api/v1/clients", {"connected_after": "2026-01-01T00:00:00"}, "connected_after"),
        ("/api/v1/clients", {"last_activity_before": "nan"}, "last_activity_before"),
        ("/api/v1/clients", {"order_by": "hostname"}, "order_by"),
        ("/api/v1/clients", {"order": "up"}, "order"),
        ("/api/v1/clients", {"id": "1,x"}, "id"),
        ("/api/v1/clients", {"id": "99999999999999999999"}, "id"),
        ("/api/v1/clients", {"appliance": "not-a-guid"}, "appliance"),
        ("/api/v1/clients", {"hostname": ""}, "hostname"),
        ("/api/v1/clients", {"hostname": "a\x00b"}, "hostname"),
        ("/api/v1/clients", {"disconnect_reason": "\x00"}, "disconnect_reason"),
        ("/api/v1/clients", {"platform_id": "x\x01"}, "platform_id"),
        ("/api/v1/clients", {"private_ip": "10.0.0.1\x1f"}, "private_ip"),
        ("/api/v1/clients", {"disconnect_initiator": "alien"}, "disconnect_initiator"),
        ("/api/v1/clients/1", {"record": "x"}, "record"),
        ("/api/v1/clients/1/log", {"kind": "party"}, "kind"),
        ("/api/v1/connection-log", {"before": "1e400"}, "before"),
        ("/api/v1/connection-log", {"order_by": "text"}, "order_by"),
        ("/api/v1/events", {"kind": "everything"}, "kind"),
        ("/api/v1/events", {"last_event_id": "-3"}, "last_event_id"),
        ("/api/v1/events", {"time_format": "unix_ms"}, "time_format"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(history, get, path, params, field):
    body = get(path, 400, **params)
    assert body["error"] == "invalid_request" and body["details"]["field"] == field
    assert body["message"].startswith(f"{field}: ")


def test_peer_parameter_names_get_a_hint(history, get):
    assert "this API calls it page_size" in get("/api/v1/clients", 400, pageSize=5)["message"]
    assert "connected_after" in get("/api/v1/clients", 400, startedAfter=5)["message"]


@given(
    key=st.sampled_from(
        [
            "page",
            "page_size",
            "offset",
            "count",
            "type",
            "status",
            "id",
            "record",
            "hostname",
            "name",
            "username",
            "platform",
            "platform_id",
            "private_ip",
            "disconnect_reason",
            "appliance",
            "connected_after",
            "disconnected_before",
            "order_by",
            "order",
            "kind",
            "time_format",
            "min_event_count",
            "max_duration",
        ]
    ),
    value=st.text(max_size=40),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_value_is_an_answer_or_a_400_naming_the_parameter(client, auth, key, value):
    path = "/api/v1/connection-log" if key == "kind" else "/api/v1/clients"
    response = client.get(path, query_string={key: value}, headers=auth)
    assert response.status_code in (200, 400), response.get_data()
    if response.status_code == 400:
        assert response.get_json()["details"]["field"] == key


READS = [
    "/api/v1/clients",
    "/api/v1/clients/1",
    "/api/v1/clients/1/log",
    "/api/v1/connection-log",
    "/api/v1/events",
]


@pytest.mark.parametrize("path", READS)
def test_reads_need_read_permission(app, client, make_account, get_token, path):
    app.config["STREAM_MAX_SECONDS"] = 0.01
    assert client.get(path).status_code == 401
    for permission, feed, status in [
        ("deny", True, 403),
        ("deny", False, 403),
        ("read_only", False, None),
        ("full_access", False, None),
    ]:
        headers = bearer(get_token(make_account(permission, feed=feed)))
        with client.get(path, headers=headers) as response:
            if status is None:
                assert response.status_code in (200, 404)
            else:
                assert response.status_code == status
                assert response.get_json()["error"] == "insufficient_permission"


def test_reads_change_nothing_and_writes_go_through_the_feed_permission(history, client, auth, get):
    before = get("/api/v1/clients", page_size=100)
    assert client.post("/api/v1/clients/2/disconnect", headers=auth).status_code == 403
    assert client.delete("/api/v1/clients/2", headers=auth).status_code == 405
    assert get("/api/v1/clients", page_size=100) == before
    history.registry.apply([Disconnect(2, "bye", "server"), Connect(inspecting.client(50, 2))])
    assert [r["connected"] for r in get("/api/v1/clients/2")["records"]] == [True, False]


def test_the_account_route_names_the_calling_account_whatever_its_permissions(
    client, make_account, get_token
):
    assert client.get("/api/v1/account").status_code == 401
    for permission, admin in (("deny", False), ("read_only", True)):
        creds = make_account(permission, admin=admin)
        body = client.get("/api/v1/account", headers=bearer(get_token(creds))).get_json()
        assert body == {
            "client_id": creds.account.client_id,
            "name": creds.account.name,
            "permission": permission,
            "feed": False,
            "admin": admin,
        }
