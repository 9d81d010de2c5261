"""The session and team actions through /api/command, as the vendor's pages describe them (every body is
validated against the XSD by the test client), and what they change in the other reads."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.registry.model import ClientType
from tests.xmlutil import children, local, parse


@pytest.fixture
def full(command, make_account, get_token):
    """full(action, **params) -> the answer's root element, called by a full_access account."""
    headers = {"Authorization": f"Bearer {get_token(make_account('full_access'))}"}

    def call(action: str, **params):
        response = command(action, method="POST", headers=headers, **params)
        assert response.status_code == 200, response.data
        return parse(response.data)

    return call


@pytest.fixture
def site(demo_population):
    """Who is who in the demo population: a session with a customer and a representative, an idle
    representative, a customer queued alone."""
    _, clients = demo_population
    reps = [c for c in clients if c.type is ClientType.REPRESENTATIVE]
    customers = [c for c in clients if c.type is ClientType.SUPPORT_CUSTOMER]
    held = {lsid: rep for rep in reps for lsid in rep.rep.support_session_lsids}
    worked = next(c for c in customers if c.lsid in held)
    queued = next(c for c in customers if c.lsid not in held)
    idle = next(r for r in reps if not r.rep.support_session_lsids)
    return {
        "lsid": worked.lsid,
        "customer": worked,
        "owner": held[worked.lsid],
        "idle": idle,
        "queued": queued,
    }


def rep_entry(command, user_id: int):
    """The representative's get_connected_clients element (lsids) and get_logged_in_reps entry."""
    connected = parse(command("get_connected_clients", type="representative").data)
    element = next(el for el in connected if el.findtext("{*}user_id") == str(user_id))
    lsids = [el.text for el in element.find("{*}support_session_lsids")]
    logged = parse(command("get_logged_in_reps").data)
    entry = next(el for el in logged if el.get("id") == str(user_id))
    return lsids, int(entry.findtext("{*}support_session_count"))


def connected_ids(command) -> set[int]:
    return {int(el.get("id")) for el in parse(command("get_connected_clients").data)}


def assert_error(root, text: str | None = None):
    assert local(root) == "error", root
    if text is not None:
        assert text in root.text


def test_get_support_teams(command, site):
    root = parse(command("get_support_teams").data)  # a read_only account may
    assert local(root) == "support_teams"
    teams = list(root)
    assert [t.findtext("{*}code_name") for t in teams] == [
        "service_desk",
        "desktop_support",
        "network_ops",
        "escalations",
    ]
    assert children(teams[0]) == ["name", "code_name", "comments", "issues"]
    assert [i.findtext("{*}code_name") for i in teams[0].find("{*}issues")] == ["password_reset", "software"]
    shown = parse(command("get_support_teams", showmembers=1).data)
    members = shown[0].find("{*}members")
    assert members is not None and len(members) == 10
    assert members[0].findtext("{*}role") == "lead"
    assert_error(parse(command("get_support_teams", showmembers=7).data)[0])


def test_join_lists_the_lsid_and_leave_drops_it(command, full, site):
    idle = site["idle"].rep.user_id
    assert rep_entry(command, idle) == ([], 0)
    assert full("join_session", lsid=site["lsid"], rep_id=idle).text == "Representative successfully added"
    assert rep_entry(command, idle) == ([site["lsid"]], 1)
    assert_error(full("join_session", lsid=site["lsid"], rep_id=idle), "already in the session")
    assert full("leave_session", lsid=site["lsid"], rep_id=idle).text == "Representative successfully removed"
    assert rep_entry(command, idle) == ([], 0)


def test_join_by_username(command, full, site):
    idle = site["idle"].rep
    assert local(full("join_session", lsid=site["lsid"], rep_username=idle.username)) == "success"
    assert rep_entry(command, idle.user_id)[0] == [site["lsid"]]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lsid": "0" * 32}, "Invalid lsid"),
        ({"rep_id": 999}, "not logged in"),
        ({"rep_id": None, "rep_username": "nobody"}, "not logged in"),
        ({"rep_username": "nobody"}, "not both"),
        ({"rep_id": "x"}, "rep_id"),
        ({"rep_id": None}, "rep_id or rep_username"),
    ],
)
def test_join_refuses_bad_input_and_changes_nothing(command, full, site, params, message):
    before = command("get_connected_clients", include_connections=1).data
    args = {"lsid": site["lsid"], "rep_id": site["idle"].rep.user_id, **params}
    args = {k: v for k, v in args.items() if v is not None}
    assert_error(full("join_session", **args), message)
    assert command("get_connected_clients", include_connections=1).data == before


def test_writes_need_full_access(command, site):
    response = command("join_session", lsid=site["lsid"], rep_id=site["idle"].rep.user_id)
    assert response.status_code == 403 and local(parse(response.data)) == "error"
    for action in ("transfer_session", "terminate_session", "set_session_attributes", "generate_session_key"):
        assert command(action, lsid=site["lsid"]).status_code == 403
    # The vendor's page gives leave_session to read-only accounts too.
    assert local(parse(command("leave_session", lsid=site["lsid"], customer=1).data)) == "success"


def test_transfer_to_a_team_and_to_a_representative(command, full, site):
    owner, idle = site["owner"].rep.user_id, site["idle"].rep.user_id
    assert site["lsid"] in rep_entry(command, owner)[0]
    assert full("transfer_session", lsid=site["lsid"], queue_id="team:2").text == "Successfully transferred"
    assert site["lsid"] not in rep_entry(command, owner)[0]
    assert (
        full("transfer_session", lsid=site["lsid"], queue_id=f"rep:{idle}").text == "Successfully transferred"
    )
    assert rep_entry(command, idle) == ([site["lsid"]], 1)


@pytest.mark.parametrize("queue_id", ["team:99", "rep:999", "general", "team:x", "issue:vpn", "queue"])
def test_transfer_refuses_a_missing_queue(command, full, site, queue_id):
    before = command("get_connected_clients", include_connections=1).data
    assert_error(full("transfer_session", lsid=site["lsid"], queue_id=queue_id))
    assert command("get_connected_clients", include_connections=1).data == before


def test_session_attributes(command, full, site):
    lsid = site["lsid"]
    assert parse(command("get_session_attributes", lsid=lsid).data).tag.endswith("custom_attributes")
    assert len(parse(command("get_session_attributes", lsid=lsid).data)) == 0
    answer = full(
        "set_session_attributes",
        lsid=lsid,
        **{"session.custom.ticket_id": "INC-1042", "session.custom.external_key": "ABC123"},
    )
    assert answer.text == "Session attributes were set"
    got = parse(command("get_session_attributes", lsid=lsid).data)
    assert [(a.get("code_name"), a.get("display_name"), a.text) for a in got] == [
        ("external_key", "External Key", "ABC123"),
        ("ticket_id", "Ticket ID", "INC-1042"),
    ]
    # An attribute not listed keeps its value; an empty one is cleared.
    full("set_session_attributes", lsid=lsid, **{"session.custom.ticket_id": ""})
    got = parse(command("get_session_attributes", lsid=lsid).data)
    assert [a.get("code_name") for a in got] == ["external_key"]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"session.custom.no_such_field": "1"}, "Invalid custom attribute"),
        ({"session.custom.ticket_id": "x" * 1025}, "longer than 1024"),
        ({"lsid": "f" * 32}, "Invalid lsid"),
    ],
)
def test_bad_attributes_change_nothing(command, full, site, params, message):
    lsid = site["lsid"]
    full("set_session_attributes", lsid=lsid, **{"session.custom.ticket_id": "INC-1"})
    args = {"lsid": lsid, "session.custom.asset_tag": "A-7", **params}
    assert_error(full("set_session_attributes", **args), message)
    got = parse(command("get_session_attributes", lsid=lsid).data)
    assert [(a.get("code_name"), a.text) for a in got] == [("ticket_id", "INC-1")]


def test_get_session_attributes_of_an_unknown_session(command):
    root = parse(command("get_session_attributes", lsid="a" * 32).data)
    assert local(root) == "custom_attributes" and children(root) == ["error"]


def test_terminate_removes_the_customer_and_the_logs_say_so(command, full, client, auth, site):
    lsid, customer, owner = site["lsid"], site["customer"], site["owner"]
    assert customer.id in connected_ids(command)
    assert full("terminate_session", lsid=lsid).text == "Successfully terminated"
    assert customer.id not in connected_ids(command)
    assert lsid not in rep_entry(command, owner.rep.user_id)[0]
    log = client.get(f"/api/v1/clients/{customer.id}/log", headers=auth).get_json()["items"]
    assert any("Session terminated" in entry["text"] for entry in log)
    rep_log = client.get(f"/api/v1/clients/{owner.id}/log", headers=auth).get_json()["items"]
    assert any(f"Support session {lsid} terminated" == entry["text"] for entry in rep_log)
    # The session is gone for every later action.
    assert_error(full("terminate_session", lsid=lsid), "Invalid lsid")
    assert_error(full("join_session", lsid=lsid, rep_id=owner.rep.user_id), "Invalid lsid")


def test_leave_customer_disconnects_it(command, full, site):
    assert full("leave_session", lsid=site["lsid"], customer=1).text == "Customer successfully removed"
    assert site["customer"].id not in connected_ids(command)
    assert_error(full("leave_session", lsid=site["lsid"], customer=1), "no customer")
    assert_error(full("leave_session", lsid=site["lsid"]), "Give one of")


def test_send_chat_message(command, full, client, auth, site):
    lsid, owner, idle = site["lsid"], site["owner"].rep, site["idle"].rep
    assert full("send_chat_message", lsid=lsid, message="Welcome").text == "Chat message sent"
    assert local(full("send_chat_message", lsid=lsid, message="Hello", rep_id=owner.user_id)) == "success"
    assert local(full("send_chat_message", lsid=lsid, message="Hi", customer=1)) == "success"
    assert_error(full("send_chat_message", lsid=lsid, message="x", rep_id=idle.user_id), "not in the session")
    assert_error(full("send_chat_message", lsid=lsid), "message")
    chat = client.get(f"/api/v1/sessions/{lsid}", headers=auth).get_json()["chat"]
    assert [(m["sender_type"], m["text"]) for m in chat] == [
        ("system", "Welcome"),
        ("representative", "Hello"),
        ("customer", "Hi"),
    ]


def test_session_key_redeemed_by_a_virtual_customer(command, full, client, auth, site):
    key = full(
        "generate_session_key", type="support", queue_id="issue:vpn", **{"session.custom.ticket_id": "T-9"}
    )
    assert children(key) == ["short_key", "key_url", "mail_subject", "mail_body", "expires"]
    short_key = key.findtext("{*}short_key")
    assert len(short_key) == 7 and short_key in key.findtext("{*}key_url")
    created = full(
        "create_virtual_customer",
        short_key=short_key,
        name="Chat Bot User",
        ip_address="203.0.113.9",
        operating_system="Windows 11",
        computer_name="LAPTOP-7Q2",
    )
    assert children(created) == ["lsid", "customer_id", "download_url"]
    lsid, customer_id = created.findtext("{*}lsid"), int(created.findtext("{*}customer_id"))
    customer = parse(command("get_connected_clients", id=customer_id).data)[0]
    assert customer.findtext("{*}lsid") == lsid and customer.findtext("{*}name") == "Chat Bot User"
    session = client.get(f"/api/v1/sessions/{lsid}", headers=auth).get_json()
    assert session["queue"] == "team:3" and session["attributes"] == {"ticket_id": "T-9"}
    attrs = parse(command("get_session_attributes", lsid=lsid).data)
    assert [(a.get("code_name"), a.text) for a in attrs] == [("ticket_id", "T-9")]
    # A key is redeemed once.
    again = full(
        "create_virtual_customer",
        short_key=short_key,
        name="Again",
        ip_address="203.0.113.9",
        operating_system="Windows 11",
        computer_name="LAPTOP-7Q2",
    )
    assert_error(again, "Invalid or expired session key")


def test_session_key_to_a_representative_queue(command, full, site):
    idle = site["idle"].rep
    key = full("generate_session_key", type="support", queue_id=f"rep_username:{idle.username}")
    created = full(
        "create_virtual_customer",
        short_key=key.findtext("{*}short_key"),
        name="Pat",
        ip_address="198.51.100.4",
        operating_system="macOS 15",
        computer_name="Pats-MacBook-Air",
    )
    assert rep_entry(command, idle.user_id)[0] == [created.findtext("{*}lsid")]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"queue_id": "team:42"}, "no support team"),
        ({"queue_id": "issue:nothing"}, "no issue"),
        ({"queue_id": "rep:999"}, "not logged in"),
        ({"type": "presentation"}, "type"),
        ({"ttl": "0"}, "ttl"),
        ({"session.custom.bogus": "1"}, "Invalid custom attribute"),
    ],
)
def test_generate_session_key_refuses_bad_input(full, site, params, message):
    args = {"type": "support", "queue_id": "general", **params}
    assert_error(full("generate_session_key", **args), message)


def test_set_failover_role_changes_check_health_and_get_appliances(command, full, site):
    health = parse(command("check_health").data)
    appliance_id = health.find("{*}appliance").get("id")
    assert full("set_failover_role", role="primary").text == "Successfully changed role."
    assert parse(command("check_health").data).findtext("{*}failover_role") == "primary"
    answer = full("set_failover_role", role="backup", data_sync_first=1, force=1)
    assert answer.text.startswith("Successfully started data sync.")
    health = parse(command("check_health").data)
    assert health.findtext("{*}failover_role") == "backup"
    assert health.find("{*}last_data_sync_time") is not None
    listed = parse(command("get_appliances").data)
    roles = {el.get("id"): el.findtext("{*}failover_role") for el in listed}
    assert roles[appliance_id] == "backup"
    assert_error(full("set_failover_role", role="tertiary"), "role")


def test_session_changes_reach_the_change_log(full, svc, site):
    seq = svc.registry.change_bounds()[1]
    full("join_session", lsid=site["lsid"], rep_id=site["idle"].rep.user_id)
    changes = svc.registry.changes_after(seq)
    kinds = [c.kind for c in changes]
    assert kinds[-1] == "session" and "update" in kinds
    assert changes[-1].payload["action"] == "join"
    assert site["idle"].rep.user_id in changes[-1].payload["session"]["rep_ids"]


NAMES = st.one_of(
    st.sampled_from(["ticket_id", "asset_tag", "customer_tier", "external_key", "bogus", ""]),
    st.text(max_size=12),
)
VALUES = st.one_of(st.text(max_size=20), st.sampled_from(["", "x" * 1024, "x" * 1025]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attributes=st.dictionaries(NAMES, VALUES, max_size=4))
def test_any_attributes_are_set_whole_or_refused_whole(command, full, site, attributes):
    """Whatever names and values arrive: success and exactly those values, or an error and nothing changed."""
    lsid = site["lsid"]

    def current() -> dict:
        root = parse(command("get_session_attributes", lsid=lsid).data)
        return {a.get("code_name"): a.text for a in root}

    before = current()
    params = {f"session.custom.{name}": value for name, value in attributes.items()}
    answer = full("set_session_attributes", lsid=lsid, **params)
    after = current()
    if local(answer) == "error":
        assert after == before
    else:
        merged = {**before, **attributes}
        assert after == {k: v for k, v in merged.items() if v}


@pytest.mark.parametrize(
    "action, params",
    [
        ("set_session_attributes", {"session.custom.ticket_id": "a\x00b"}),
        ("set_session_attributes", {"session.custom.ticket_id": "\x1b[31m"}),
        ("send_chat_message", {"message": "bell\x07"}),
        ("join_session", {"rep_username": "x\x0bz"}),
    ],
)
def test_text_xml_cannot_hold_is_refused(command, full, site, action, params):
    before = command("get_connected_clients", include_connections=1).data
    assert_error(full(action, lsid=site["lsid"], **params))
    assert command("get_connected_clients", include_connections=1).data == before
    assert len(parse(command("get_session_attributes", lsid=site["lsid"]).data)) == 0


def test_a_virtual_customer_with_text_xml_cannot_hold_is_refused(command, full, site):
    key = full("generate_session_key", type="support", queue_id="general").findtext("{*}short_key")
    answer = full(
        "create_virtual_customer",
        short_key=key,
        name="Eve\x01",
        ip_address="203.0.113.1",
        operating_system="Windows",
        computer_name="PC",
    )
    assert_error(answer, "name")


def test_the_demo_fixture_brings_its_site_and_a_few_ticketed_sessions(cli, command, client, auth, svc):
    cli("registry", "reset", "--fixture", "demo")
    assert len(parse(command("get_support_teams").data)) == 4
    stored = svc.store.sessions.list_sessions()
    assert len(stored) == 5
    first = next(s for s in stored if s.attributes["ticket_id"] == "INC-1042")
    got = parse(command("get_session_attributes", lsid=first.lsid).data)
    assert [(a.get("code_name"), a.text) for a in got] == [
        ("ticket_id", "INC-1042"),
        ("customer_tier", "gold"),
    ]
    detail = client.get(f"/api/v1/sessions/{first.lsid}", headers=auth).get_json()
    assert [m["sender_type"] for m in detail["chat"]] == ["system", "representative"]
    customer = parse(command("get_connected_clients", id=first.customer_id).data)[0]
    assert customer.findtext("{*}lsid") == first.lsid


def test_a_session_ends_when_everyone_in_it_left_through_the_feed(command, full, client, auth, feed, site):
    lsid, customer, owner = site["lsid"], site["customer"], site["owner"]
    full("set_session_attributes", lsid=lsid, **{"session.custom.ticket_id": "INC-7"})  # now a stored session
    client.post(f"/api/v1/clients/{customer.id}/disconnect", json={"reason": "closed"}, headers=feed)
    assert (
        len(parse(command("get_session_attributes", lsid=lsid).data)) == 1
    )  # its representative is still in it
    client.post(f"/api/v1/clients/{owner.id}/disconnect", json={"reason": "logged out"}, headers=feed)
    assert children(parse(command("get_session_attributes", lsid=lsid).data)) == ["error"]
    assert client.get(f"/api/v1/sessions/{lsid}", headers=auth).status_code == 404
    assert lsid not in [s["lsid"] for s in client.get("/api/v1/sessions", headers=auth).get_json()["items"]]


def test_concurrent_first_actions_on_a_session_both_count(svc, demo_population, site):
    """Two representatives join a session that is not a row yet, at once: both are in it afterwards."""
    import concurrent.futures

    from gateway.registry.session_service import RepRef

    _, clients = demo_population
    others = [
        c.rep.user_id
        for c in clients
        if c.type is ClientType.REPRESENTATIVE and site["lsid"] not in c.rep.support_session_lsids
    ]
    pair = others[:2]
    assert len(pair) == 2
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        done = [pool.submit(svc.sessions.join, site["lsid"], RepRef(user_id=u)) for u in pair]
        for future in done:
            future.result()
    assert set(pair) <= set(svc.sessions.session(site["lsid"]).rep_ids)
