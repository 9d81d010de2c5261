"""Parameters of the command API: what an appliance would reject gets an <error>, nothing gets a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.command.dispatch import ACTIONS
from tests import populations
from tests.xmlutil import local, parse


def nested_error(response, root: str) -> str:
    assert response.status_code == 200
    element = parse(response.data)
    assert local(element) == root
    assert [local(c) for c in element] == ["error"]
    return element[0].text


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"type": "bogus"}, "unknown client type 'bogus'"),
        ({"type": "Representative"}, "unknown client type"),
        ({"type": "pinned_client"}, "unknown client type"),
        ({"id": "abc"}, "'abc' is not a client id"),
        ({"id": "1,2,x"}, "'x' is not a client id"),
        ({"id": "0"}, "is not a client id"),
        ({"id": "-5"}, "is not a client id"),
        ({"id": "2147483648"}, "is not a client id"),
        ({"id": "1.5"}, "is not a client id"),
        ({"id": "+7"}, "is not a client id"),
        ({"id": "\u0661"}, "is not a client id"),
        ({"id": ",".join(str(i) for i in range(1, 102))}, "at most 100 ids"),
        ({"include_connections": "7"}, "must be 0 or 1"),
        ({"include_connections": "true"}, "must be 0 or 1"),
        ({"include_connections": "0", "type": "representative,nope"}, "unknown client type 'nope'"),
    ],
)
def test_rejected_values_get_an_error_inside_connected_clients(command, params, fragment):
    message = nested_error(command("get_connected_clients", **params), "connected_clients")
    assert fragment in message
    assert message.startswith("Invalid value for parameter")


def test_exactly_100_ids_are_accepted(command, svc):
    populations.load(svc.registry)
    response = command("get_connected_clients", id=",".join(str(i) for i in range(10, 110)))
    assert [int(el.get("id")) for el in parse(response.data)] == [101, 102, 103, 104, 105]


@pytest.mark.parametrize("params", [{"summary_only": "2"}, {"type": "nobody"}, {"summary_only": "yes"}])
def test_client_list_errors_are_nested(command, params):
    nested_error(command("get_connected_client_list", **params), "connected_client_list")


def test_conflicting_scalar_values_are_an_error(client, auth):
    response = client.get(
        "/api/command?action=get_connected_clients&include_connections=0&include_connections=1", headers=auth
    )
    assert "more than once" in nested_error(response, "connected_clients")


def test_same_scalar_twice_and_empty_values_are_fine(client, auth):
    response = client.get(
        "/api/command?action=get_connected_clients&include_connections=1&include_connections=1&type=&id=",
        headers=auth,
    )
    assert response.status_code == 200 and local(parse(response.data)) == "connected_clients"


def test_unknown_parameters_are_ignored(command):
    response = command("get_connected_clients", foo="bar", callback="x")
    assert local(parse(response.data)) == "connected_clients"


@pytest.mark.parametrize(
    "action, expected",
    [
        ("", "missing"),
        ("nope", "Unknown action 'nope'"),
        ("GET_CONNECTED_CLIENTS", "Unknown action"),
        ("x" * 500, "Unknown action"),
    ],
)
def test_missing_or_unknown_action_is_a_root_error(command, action, expected):
    response = command(action) if action else command()
    assert response.status_code == 200
    root = parse(response.data)
    assert local(root) == "error" and expected in root.text
    assert len(root.text) < 200


def test_multipart_is_refused_with_415(client, auth):
    response = client.post(
        "/api/command",
        data={"action": "get_api_info", "file": (__import__("io").BytesIO(b"x"), "a.txt")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 415
    assert "multipart" in parse(response.data).text


def test_json_body_is_refused_with_415(client, auth):
    response = client.post("/api/command", json={"action": "get_api_info"}, headers=auth)
    assert response.status_code == 415


def test_query_action_with_empty_post_body(client, auth):
    response = client.post("/api/command?action=get_api_info", headers=auth)
    assert response.status_code == 200 and local(parse(response.data)) == "api_information"


def test_oversized_form_is_413_xml(client, auth):
    response = client.post(
        "/api/command", data={"action": "get_api_info", "pad": "x" * (2 << 20)}, headers=auth
    )
    assert response.status_code == 413
    assert local(parse(response.data)) == "error"


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
VALUES = st.one_of(
    TEXT,
    st.lists(st.integers(min_value=-5, max_value=3_000_000_000), max_size=120).map(
        lambda xs: ",".join(map(str, xs))
    ),
    st.lists(
        st.sampled_from(
            ["all", "representative", "support_customer", "presentation_attendee", "push_agent", "x", ""]
        ),
        max_size=6,
    ).map(",".join),
    st.sampled_from(["0", "1", "", " 1", "01"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["type", "id", "include_connections", "summary_only", "action", "x"]),
            st.one_of(VALUES, st.sampled_from([*sorted(ACTIONS), "bogus"])),
        ),
        max_size=6,
    ),
    action=st.sampled_from([*sorted(ACTIONS), None]),
    method=st.sampled_from(["GET", "POST"]),
)
def test_any_parameters_give_a_valid_document_never_a_500(
    client, make_account, get_token, pairs, action, method
):
    """The validating client checks every body against the XSD; here we check status and shape (a full_access
    account, so that the writes are tried too)."""
    from werkzeug.datastructures import MultiDict

    auth = {"Authorization": f"Bearer {get_token(make_account('full_access'))}"}

    params = MultiDict(([("action", action)] if action else []) + pairs)
    if method == "GET":
        response = client.get("/api/command", query_string=params, headers=auth)
    else:
        response = client.post("/api/command", data=params, headers=auth)
    assert response.status_code in (200, 413)
    root = parse(response.data)
    assert local(root) in {a.root or a.answer for a in ACTIONS.values()} | {"error"}


def test_long_parameter_lists_are_answered_but_not_remembered(command):
    """The per-worker memo is bounded by size: a client sending huge lists cannot grow it (issue 15)."""
    from gateway.command.params import MEMO_TEXT, _load_gathered

    before = _load_gathered.cache_info().currsize
    for n in range(20):
        types = ",".join(["representative"] * (50 + n))
        assert len(types) > MEMO_TEXT
        response = command("get_connected_client_list", method="POST", type=types)
        assert response.status_code == 200 and b"<error" not in response.data
    command("get_connected_client_list", type="representative")
    assert _load_gathered.cache_info().currsize <= before + 1
