"""The byte layout of command-API answers (GATEWAY_XML_LAYOUT): pretty by default, one element per line as
appliances write it; compact on one line. Both against golden files, errors and empty answers included."""

from __future__ import annotations

import pytest

from gateway import create_app
from gateway.config import ConfigError
from tests import populations
from tests.xmlutil import assert_golden, parse

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
GOLDEN = [
    (101, "representative"),
    (102, "support_customer"),
    (103, "support_customer_rdp"),
    (104, "presentation_attendee"),
    (105, "push_agent"),
]


@pytest.fixture(params=["pretty", "compact"])
def layout(request) -> str:
    return request.param


@pytest.fixture
def app_config(database_url, layout) -> dict:
    return {"DATABASE_URL": database_url, "TESTING": True, "XML_LAYOUT": layout}


@pytest.fixture
def population(svc):
    return populations.load(svc.registry)


def folder(layout: str) -> str:
    return "" if layout == "pretty" else "compact/"


@pytest.mark.parametrize("client_id, golden", GOLDEN)
@pytest.mark.parametrize("include", ["0", "1"])
def test_each_client_type_in_each_layout_matches_its_golden_file(
    command, population, layout, client_id, golden, include
):
    response = command("get_connected_clients", id=client_id, include_connections=include)
    suffix = "_connections" if include == "1" else ""
    assert_golden(f"{folder(layout)}{golden}{suffix}.xml", response.data)


def test_every_line_holds_one_element_in_the_pretty_layout(command, demo_population, layout):
    """What a shell script counting representatives with ``grep display_name | wc -l`` relies on."""
    body = command("get_logged_in_reps").data
    reps = len(parse(body))
    lines = body.decode().splitlines()
    counted = sum("<display_name>" in line for line in lines)
    if layout == "pretty":
        assert reps == 40 and counted == reps
        assert all(line.startswith("    <") for line in lines if "<display_name>" in line)
        assert body.endswith(b"</logged_in_reps>\n")
    else:
        assert counted == 1 and len(lines) == 2


def test_a_dump_streams_in_the_layout(command, demo_population, layout):
    body = command("get_connected_clients", include_connections=1).data
    assert body.startswith(DECLARATION)
    lines = body.count(b"\n")
    assert (lines > 20 * len(parse(body))) if layout == "pretty" else lines == 1


def test_empty_answers_are_an_empty_element_tag(command, namespace, layout):
    end = b"\n" if layout == "pretty" else b""
    for action, root in (
        ("get_connected_clients", "connected_clients"),
        ("get_logged_in_reps", "logged_in_reps"),
    ):
        body = command(action).data
        assert body == DECLARATION + f'<{root} xmlns="{namespace}"/>'.encode() + end


def test_errors_follow_the_layout(command, client, namespace, layout):
    nested = command("get_connected_clients", type="robots").data
    plain = command("no_such_action").data
    unauthenticated = client.get("/api/command", query_string={"action": "check_health"}).data
    head = f'<connected_clients xmlns="{namespace}">'.encode()
    if layout == "pretty":
        assert nested.startswith(DECLARATION + head + b"\n  <error>") and nested.endswith(
            b"</connected_clients>\n"
        )
        assert plain.startswith(DECLARATION + f'<error xmlns="{namespace}">'.encode()) and plain.endswith(
            b"\n"
        )
    else:
        assert nested.startswith(DECLARATION + head + b"<error>") and nested.endswith(b"</connected_clients>")
        assert plain.count(b"\n") == 1
    assert plain.endswith(b"</error>\n" if layout == "pretty" else b"</error>")
    assert unauthenticated.endswith(b"</error>\n" if layout == "pretty" else b"</error>")


@pytest.mark.parametrize("value", ["Pretty", " compact "])
def test_the_setting_is_read_without_case_or_spaces(database_url, value):
    app = create_app({"DATABASE_URL": database_url, "XML_LAYOUT": value})
    assert app.config["XML_LAYOUT"] == value.strip().lower()
    app.extensions["gateway"].store.close()


def test_an_unknown_layout_is_refused_at_startup(database_url):
    with pytest.raises(ConfigError, match="GATEWAY_XML_LAYOUT"):
        create_app({"DATABASE_URL": database_url, "XML_LAYOUT": "indented"})


@pytest.mark.parametrize("include", [False, True])
def test_a_dump_through_the_store_has_the_bytes_of_the_element_tree(
    command, demo_population, namespace, layout, include
):
    """The fast path (stored fragments read by storage/fastpath.py, streamed by xml/document.py) against the
    element-tree path (every client built with lxml, serialized as one tree) in the app's layout."""
    from gateway.xml import document
    from gateway.xml.clients import client_element

    body = command("get_connected_clients", include_connections=int(include)).data
    with document.layout(layout):
        root = document.Builder(namespace).root("connected_clients")
        for client in sorted(demo_population[1], key=lambda c: c.id):
            root.append(client_element(client, include))
        assert body == document.document(root)


def test_session_answers_in_each_layout_match_their_golden_files(
    command, make_account, get_token, svc, layout
):
    """get_support_teams (with members), get_session_attributes and a <success> answer (issue 17)."""
    from gateway.seeding import demo, site
    from tests.conftest import FIXED_NOW

    appliances, clients = demo.build(FIXED_NOW)
    svc.registry.replace_population(appliances, clients)
    svc.sessions.configure_site(*site.site_for(clients))
    full = {"Authorization": f"Bearer {get_token(make_account('full_access'))}"}
    lsid = next(c.lsid for c in clients if c.lsid)
    assert_golden(
        f"{folder(layout)}support_teams_members.xml", command("get_support_teams", showmembers=1).data
    )
    answer = command(
        "set_session_attributes",
        method="POST",
        headers=full,
        lsid=lsid,
        **{"session.custom.ticket_id": "INC-1042", "session.custom.asset_tag": "A&B <7>"},
    )
    assert_golden(f"{folder(layout)}success.xml", answer.data)
    assert_golden(f"{folder(layout)}custom_attributes.xml", command("get_session_attributes", lsid=lsid).data)
