"""Fixture files (YAML, JSON), clients load/dump, named fixtures and the reset for tests."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gateway import create_app
from gateway.cli import main
from gateway.registry.model import ClientQuery
from gateway.registry.operations import Connect
from gateway.seeding import fixtures
from gateway.seeding.fixtures import NAMED as EXAMPLES
from tests import populations
from tests.feeding import snapshot
from tests.xmlutil import parse


def registry_document(svc) -> dict:
    return fixtures.document(
        svc.registry.appliances(), svc.store.registry.list_clients(ClientQuery(), with_events=True)
    )


@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
)
def test_every_example_loads_and_serves_valid_xml(cli, command, svc, example):
    assert "Loaded" in cli("clients", "load", str(EXAMPLES / example)).output
    assert svc.registry.count() > 0
    response = command("get_connected_clients", include_connections=1)  # validated against the XSD
    assert len(parse(response.data)) == svc.registry.count()


def test_the_small_example_is_what_it_says(cli, command):
    cli("clients", "load", str(EXAMPLES / "small.yaml"))
    root = parse(command("get_connected_clients", include_connections=1).data)
    assert [(c.tag.split("}")[1], c.get("id")) for c in root] == [
        ("connected_representative", "101"),
        ("connected_support_customer", "102"),
        ("connected_support_customer", "103"),
        ("connected_presentation_attendee", "104"),
        ("connected_push_agent", "105"),
    ]
    rep = root[0]
    lsids = [e.text for e in rep.iterfind("{*}support_session_lsids/{*}lsid")]
    assert [c.findtext("{*}lsid") for c in root[1:3]] == lsids, (
        "the customers are in the representative's sessions"
    )
    assert rep.findtext("{*}private_display_name") == 'Jo Smith <Tier 2> & "friends"'


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_then_load_gives_the_same_registry(cli, svc, tmp_path, demo_population, fmt):
    # Special characters a fixture must carry: quotes, markup, tabs, CR/LF, non-ASCII, astral, YAML words.
    odd = populations.clients()[3]
    odd.id, odd.name, odd.hostname = 9999, 'Zoë "Q" <O\'Brien> &\tco\r\nnew line 😀', "yes"
    odd.connected_since_offset = "-05:00"
    svc.registry.apply([Connect(odd)])  # its appliance becomes a placeholder
    before = registry_document(svc)
    path = tmp_path / f"dump.{fmt}"
    assert "Wrote 4 appliances and 384 clients" in cli("clients", "dump", str(path)).output
    cli("registry", "reset")
    assert svc.registry.count() == 0
    cli("clients", "load", str(path))
    assert registry_document(svc) == before
    again = tmp_path / f"again.{fmt}"
    cli("clients", "dump", str(again))
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_dump_to_standard_output(cli, demo_population):
    output = cli("clients", "dump", "-", "--format", "json").output
    assert len(json.loads(output)["clients"]) == len(demo_population[1])


BROKEN_YAML = """\
version: 1
appliances:
  - id: 6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00
    name: support
    hostname: support.example.com
clients:
  - type: support_customer
    hostname: DESKTOP-1
    platform: Windows
    platform_id: winNT-64
    name: Zoë
    connections:
      - appliance_id: not-a-guid
  - type: representative
    hostname: WS-1
    platform: Windows
    platform_id: winNT-64
    representative:
      user_id: 7
      username: jo
      support_session_count: 2
      support_session_lsids: [a]
  - type: push_agent
    id: 7
    hostname: jp
    platform: Linux
    platform_id: linux
    name: JP
    connections:
      - appliance_id: 11111111-2222-4333-8444-555555555555
  - type: push_agent
    id: 7
    hostname: "bad \\0 byte"
    platform: Linux
    platform_id: linux
    name: JP 2
"""


def test_a_broken_yaml_fixture_names_every_problem_with_its_line(cli, svc, tmp_path, demo_population):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN_YAML, encoding="utf-8")
    before = snapshot(svc)
    output = cli("clients", "load", str(path), ok=False).output
    assert f"{path}:7: clients.0.lsid: Missing data for required field." in output
    assert f"{path}:13: clients.0.connections.0.appliance_id: Must be a GUID" in output
    assert f"{path}:33: clients.3.hostname: Contains a character XML cannot carry" in output
    assert snapshot(svc) == before, "validated whole before anything is written"
    path.write_text(
        BROKEN_YAML.replace("not-a-guid", "6f1c2a9e-4b7d-4e1a-9c3f-2d5e8a7b1c00")
        .replace('"bad \\0 byte"', "jp2")
        .replace(
            "    platform: Windows\n    platform_id: winNT-64\n    name: Zoë",
            "    platform: Windows\n    platform_id: winNT-64\n    name: Zoë\n    lsid: abc",
        ),
        encoding="utf-8",
    )
    output = cli("clients", "load", str(path), ok=False).output  # one line longer: lsid after name
    assert (
        f"{path}:22: clients.1.representative.support_session_count: support_session_count is 2 but 1 lsids"
        in output
    )
    assert (
        f"{path}:31: clients.2.connections.0.appliance_id: 11111111-2222-4333-8444-555555555555 is not one of"
        in output
    )
    assert f"{path}:33: clients.3.id: id 7 is also clients.2's" in output
    assert f"{path}:7: clients.0.lsid" not in output
    assert snapshot(svc) == before


def test_json_fixtures_report_lines_too(tmp_path):
    doc = json.loads((EXAMPLES / "queue.json").read_text())
    doc["clients"][1]["lsid"] = 12
    text = json.dumps(doc, indent=2)
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(fixtures.FixtureError) as error:
        fixtures.read(path)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"lsid": 12' in row)
    assert error.value.problems == [f"{path}:{line}: clients.1.lsid: Not a valid string."]
    path.write_text('{"clients": [}')
    with pytest.raises(fixtures.FixtureError, match=r"bad.json:1: body: not valid JSON"):
        fixtures.read(path)
    path.write_text("[1, 2]")
    with pytest.raises(fixtures.FixtureError, match="a fixture is a mapping"):
        fixtures.read(path)
    yaml_path = tmp_path / "bad.yaml"
    yaml_path.write_text("clients:\n  - type: [unclosed\n")
    with pytest.raises(fixtures.FixtureError, match=r"bad.yaml:3: body: not valid YAML"):
        fixtures.read(yaml_path)
    with pytest.raises(fixtures.FixtureError, match=r"name a \.yaml"):
        fixtures.read(tmp_path / "fixture.txt")


def test_merge_adds_beside_the_current_clients(cli, svc):
    cli("clients", "load", str(EXAMPLES / "small.yaml"))
    cli("clients", "load", str(EXAMPLES / "queue.json"), "--merge")
    assert svc.registry.count() == 7
    assert (
        "clients.0: Client id" not in cli("clients", "load", str(EXAMPLES / "queue.json"), "--merge").output
    )
    clash = cli("clients", "load", str(EXAMPLES / "small.yaml"), "--merge", ok=False).output
    assert "clients.0: Client id 101 is already connected." in clash
    assert svc.registry.count() == 9


def test_named_fixtures_reset_through_the_admin_api(client, admin, feed, svc, command):
    names = client.get("/api/v1/admin/fixtures", headers=admin).get_json()["fixtures"]
    assert {"empty", "demo", "thousand", "small", "queue"} <= set(names)
    response = client.post("/api/v1/admin/reset", json={"fixture": "thousand"}, headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {
        "fixture": "thousand",
        "appliances": 3,
        "clients": 1000,
        "accounts": "kept",
    }
    assert len(parse(command("get_connected_clients").data)) == 1000
    first = registry_document(svc)
    client.post(
        "/api/v1/clients",
        json={"type": "push_agent", "hostname": "x", "platform": "p", "platform_id": "p", "name": "n"},
        headers=feed,
    )
    assert client.post("/api/v1/admin/reset", json={"fixture": "thousand"}, headers=admin).status_code == 200
    assert registry_document(svc) == first, "the same fixture gives the same registry every time"
    small = client.post("/api/v1/admin/reset", json={"fixture": "small"}, headers=admin).get_json()
    assert small["clients"] == 5
    created = client.post(
        "/api/v1/clients",
        json={"type": "push_agent", "hostname": "x", "platform": "p", "platform_id": "p", "name": "n"},
        headers=feed,
    )
    assert created.get_json()["id"] == 106, "ids continue after the fixture's"
    assert client.post("/api/v1/admin/reset", headers=admin).get_json()["clients"] == 0, "default: empty"
    assert [c.kind for c in svc.registry.changes_after(0)] == ["reset"]


def test_reset_can_drop_accounts(client, admin, svc):
    response = client.post(
        "/api/v1/admin/reset", json={"keep_accounts": False, "fixture": "small"}, headers=admin
    )
    assert response.status_code == 200 and response.get_json()["accounts"] == "dropped"
    assert svc.accounts.list() == []
    assert client.post("/api/v1/admin/reset", json={}, headers=admin).status_code == 401, (
        "its own token is gone"
    )


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"fixture": "nope"}, 404, "fixture"),
        ({"fixture": "../../etc/passwd"}, 404, "fixture"),
        ({"fixture": 3}, 400, "fixture"),
        ({"keep_accounts": "no"}, 400, "keep_accounts"),
        ({"wipe": True}, 400, "wipe"),
    ],
)
def test_bad_reset_requests_change_nothing(client, admin, svc, demo_population, body, status, field):
    before = snapshot(svc)
    response = client.post("/api/v1/admin/reset", json=body, headers=admin)
    assert response.status_code == status and response.get_json()["details"]["field"] == field
    assert snapshot(svc) == before


def test_reset_needs_the_admin_permission(client, feed, make_account, get_token):
    assert client.post("/api/v1/admin/reset", json={}, headers=feed).status_code == 403
    assert client.post("/api/v1/admin/reset", json={}).status_code == 401


def test_cli_reset_and_fixtures_directory(app_config, tmp_path):
    (tmp_path / "mine.json").write_text((EXAMPLES / "queue.json").read_text())
    (tmp_path / "Not A Name.json").write_text("{}")
    app = create_app({**app_config, "FIXTURES_DIR": str(tmp_path)})
    runner = app.test_cli_runner()
    listed = runner.invoke(main, ["registry", "fixtures"]).output.split()
    assert listed == ["demo", "empty", "mine", "thousand"]
    app.extensions["gateway"].accounts.create("keeper", "read_only")
    result = runner.invoke(main, ["registry", "reset", "--fixture", "mine"])
    assert result.exit_code == 0 and "2 clients; API accounts kept" in result.output
    result = runner.invoke(main, ["registry", "reset", "--drop-accounts"])
    assert "0 clients; API accounts dropped" in result.output
    assert app.extensions["gateway"].accounts.list() == []
    assert (
        "No fixture named 'small'" in runner.invoke(main, ["registry", "reset", "--fixture", "small"]).output
    )
    app.extensions["gateway"].store.close()


def test_prepared_fixtures_are_reread_when_their_file_changes(app_config, tmp_path):
    path = tmp_path / "live.json"
    path.write_text((EXAMPLES / "queue.json").read_text())
    app = create_app({**app_config, "FIXTURES_DIR": str(tmp_path)})
    registry = app.extensions["gateway"].registry
    assert fixtures.reset(registry, "live", configured=str(tmp_path))["clients"] == 2
    doc = json.loads(path.read_text())
    doc["clients"] = doc["clients"][:1]
    path.write_text(json.dumps(doc))
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert fixtures.reset(registry, "live", configured=str(tmp_path))["clients"] == 1
    app.extensions["gateway"].store.close()


def test_a_reset_after_any_write_gives_back_the_fixture(client, admin, feed, svc, command):
    """A reset to the fixture loaded last replaces only the clients written since: whatever the
    writes were, the registry ends as a full reset leaves it."""
    assert client.post("/api/v1/admin/reset", json={"fixture": "demo"}, headers=admin).status_code == 200
    pristine = registry_document(svc)
    xml = command("get_connected_clients", include_connections=1).data
    reps = [c.id for c in svc.store.registry.list_clients(ClientQuery()) if c.type.value == "representative"]
    writes = [
        ("post", "/api/v1/clients/1/events", {"text": "appended"}),
        ("patch", "/api/v1/clients/2", {"hostname": "changed"}),
        ("patch", "/api/v1/clients/3", {"connections": []}),
        ("patch", f"/api/v1/clients/{reps[0]}", {"representative": {"support_session_lsids": []}}),
        ("post", "/api/v1/clients/4/disconnect", {"reason": "test"}),
        (
            "post",
            "/api/v1/clients",
            {
                "type": "push_agent",
                "id": 4,
                "hostname": "reused id",
                "platform": "p",
                "platform_id": "p",
                "name": "n",
            },
        ),
        (
            "post",
            "/api/v1/clients",
            {
                "type": "push_agent",
                "hostname": "new",
                "platform": "p",
                "platform_id": "p",
                "name": "n",
                "connections": [{"appliance_id": "11111111-2222-4333-8444-555555555555"}],
            },
        ),
        (
            "post",
            "/api/v1/batch",
            {
                "operations": [
                    {"op": "disconnect", "id": 5},
                    {"op": "events", "id": 6, "events": [{"text": "x"}]},
                ]
            },
        ),
    ]
    for method, path, body in writes:
        response = getattr(client, method)(path, json=body, headers=feed)
        assert response.status_code in (200, 201), (path, response.get_json())
    svc.registry.disconnected_retention = -1  # the next write purges the clients disconnected until now
    later = client.post("/api/v1/clients/7/events", json={"text": "later"}, headers=feed)
    assert later.status_code == 200, later.get_json()
    assert svc.store.registry.count_clients(connected=False) == 0
    assert registry_document(svc) != pristine
    assert client.post("/api/v1/admin/reset", json={"fixture": "demo"}, headers=admin).status_code == 200
    assert registry_document(svc) == pristine
    assert command("get_connected_clients", include_connections=1).data == xml
    assert [c.kind for c in svc.registry.changes_after(0)] == ["reset"]
    population = fixtures.prepared(svc.registry, "demo")
    svc.registry.reset(dataclasses.replace(population, token=None))  # the full way
    assert registry_document(svc) == pristine
