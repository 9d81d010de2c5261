"""Large fixture files: read as a stream and written in batches (several batches here), in one
transaction; dumped batch by batch to the same text; a problem late in the file changes nothing."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from gateway.registry.model import ClientQuery
from gateway.registry.operations import Connect
from gateway.seeding import demo, fixtures

#: Several batches of fixtures.BATCH clients.
SIZE = demo.DemoSize(representatives=120, support_customers=1000, presentation_attendees=60, push_agents=40)


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """A 1,220-client fixture written by the gateway's own dump format, in YAML and JSON."""
    appliances, clients = demo.build(fixtures.REFERENCE_TIME, size=SIZE)
    for number, client in enumerate(clients, start=1):
        client.id = number * 3  # ids with gaps: new ones continue after the largest
    folder = tmp_path_factory.mktemp("large")
    files = {fmt: folder / f"large.{fmt}" for fmt in ("yaml", "json")}
    for fmt, path in files.items():
        fixtures.write(path, appliances, clients, fmt)
    return appliances, clients, files


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_large_fixture_loads_and_dumps_back_the_same(cli, svc, large, tmp_path, fmt):
    appliances, clients, files = large
    assert len(clients) > 2 * fixtures.BATCH
    output = cli("clients", "load", str(files[fmt])).output
    assert f"Loaded {len(appliances)} appliances and {len(clients)} clients" in output
    assert svc.registry.count() == len(clients)
    sample = svc.store.registry.list_clients(ClientQuery(ids=(clients[700].id,)), with_events=True)[0]
    expected = clients[700]
    assert (sample.hostname, sample.type, sample.connections) == (
        expected.hostname,
        expected.type,
        expected.connections,
    )
    dumped = tmp_path / f"again.{fmt}"
    assert f"{len(clients)} clients" in cli("clients", "dump", str(dumped), "--quiet").output
    assert dumped.read_text() == files[fmt].read_text()
    newcomer = dataclasses.replace(clients[0], id=0, key=None, connections=[], events=[])
    assert svc.registry.apply([Connect(newcomer)])[0].id == clients[-1].id + 1


def test_a_problem_late_in_a_large_file_changes_nothing(cli, svc, large, tmp_path):
    _, clients, files = large
    cli("registry", "reset", "--fixture", "small")
    before = svc.registry.count()
    text = files["yaml"].read_text().splitlines()
    last_type = max(i for i, line in enumerate(text) if line.startswith("  type: "))
    text[last_type] = "  type: robot"
    broken = tmp_path / "broken.yaml"
    broken.write_text("\n".join(text) + "\n")
    output = cli("clients", "load", str(broken), ok=False).output
    assert f"{broken}:{last_type + 1}: clients.{len(clients) - 1}.type: Must be one of" in output
    assert svc.registry.count() == before


def test_clients_without_ids_come_after_the_largest_given(cli, svc, tmp_path):
    appliances, clients = demo.build(fixtures.REFERENCE_TIME, size=demo.DemoSize(3, 4, 1, 1))
    document = fixtures.document(appliances, clients)
    for number, client in enumerate(document["clients"]):
        if number % 2:
            client["id"] = 50 + number
        else:
            del client["id"]
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    cli("clients", "load", str(path))
    given = [c["id"] for c in document["clients"] if "id" in c]
    missing = len(document["clients"]) - len(given)
    loaded = sorted(c.id for c in svc.store.registry.list_clients(ClientQuery()))
    assert loaded == sorted(given + list(range(max(given) + 1, max(given) + 1 + missing)))


@pytest.mark.parametrize(
    "text, line",
    [
        ("clients: {}\n", 1),
        ("clients: null\n", 1),
        ("clients: 3\nappliances: []\n", 1),
        ("appliances: []\nclients: x\n", 2),
    ],
)
def test_clients_that_are_not_a_list_are_named_with_their_line(text, line):
    with pytest.raises(fixtures.FixtureError) as refused:
        fixtures.parse(text, "yaml", "f.yaml")
    assert refused.value.problems == [f"f.yaml:{line}: clients: Not a valid list."]
