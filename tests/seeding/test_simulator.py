"""gateway simulate: deterministic for a seed, realistic and consistent, written through the feed."""

from __future__ import annotations

from itertools import islice

import pytest

from gateway.cli import main
from gateway.registry.model import ClientQuery, ClientType
from gateway.seeding import fixtures
from gateway.seeding.simulator import Simulator
from gateway.seeding.sinks import LocalSink, run
from tests.xmlutil import parse

START = 1_790_000_000


def canonical_steps(seed: int, count: int = 300, rate: float = 5) -> list[str]:
    return [step.canonical() for step in islice(Simulator(seed, START, rate).steps(), count)]


def test_the_same_seed_gives_the_same_writes():
    assert canonical_steps(7) == canonical_steps(7)
    assert canonical_steps(7) != canonical_steps(8)
    steps = list(islice(Simulator(7, START, 4).steps(), 9))
    assert [s.ts for s in steps] == [
        START,
        START,
        START,
        START,
        START + 1,
        START + 1,
        START + 1,
        START + 1,
        START + 2,
    ]


def document(svc) -> dict:
    return fixtures.document(
        svc.registry.appliances(), svc.store.registry.list_clients(ClientQuery(), with_events=True)
    )


@pytest.fixture
def simulated(svc):
    counts = run(Simulator(11, START, 20), LocalSink(svc.registry), steps=400, pace=False)
    return counts


def test_a_run_is_realistic_and_consistent(svc, simulated, command):
    assert simulated["operations"] >= 400
    for action in (
        "rep_login",
        "rep_logout",
        "customer_arrive",
        "session_start",
        "session_end",
        "conference",
        "jumpoint_connect",
        "node_failure",
        "traffic_move",
        "attendee_join",
    ):
        assert simulated[action] > 0, action
    clients = svc.store.registry.list_clients(ClientQuery(), with_events=True)
    by_type = {t: [c for c in clients if c.type is t] for t in ClientType}
    customer_lsids = {c.lsid for c in by_type[ClientType.SUPPORT_CUSTOMER]}
    for rep in by_type[ClientType.REPRESENTATIVE]:
        assert set(rep.rep.support_session_lsids) <= customer_lsids, (
            "a representative's sessions have their customer"
        )
        assert rep.rep.support_session_count == len(rep.rep.support_session_lsids)
        assert rep.rep.routing_idle == (not rep.rep.support_session_lsids)
    assert len({r.rep.user_id for r in by_type[ClientType.REPRESENTATIVE]}) == len(
        by_type[ClientType.REPRESENTATIVE]
    )
    assert len(by_type[ClientType.PUSH_AGENT]) == 6, "Jumpoints stay up"
    assert any("Failed to connect to traffic node" in e.text for c in clients for e in c.events)
    changes = svc.registry.changes_after(0, 100_000)
    initiators = {c.payload["initiator"] for c in changes if c.kind == "disconnect"}
    assert initiators == {"client", "server", "network"}
    assert not [c for c in changes if c.kind == "disconnect" and c.payload["type"] == "push_agent"]
    root = parse(command("get_connected_clients", include_connections=1).data)  # validated against the XSD
    assert len(root) == len(clients)
    logged_in = parse(command("get_logged_in_reps").data)
    assert len(logged_in) == len(by_type[ClientType.REPRESENTATIVE])


def test_the_same_seed_builds_the_same_registry(svc, simulated):
    first = document(svc)
    fixtures.reset(svc.registry, "empty")
    run(Simulator(11, START, 20), LocalSink(svc.registry), steps=400, pace=False)
    assert document(svc) == first


def test_the_cli(app, svc):
    result = app.test_cli_runner().invoke(
        main, ["simulate", "--seed", "3", "--steps", "40", "--fast", "--start", str(START), "--rate", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "Simulated 40 steps" in result.output and "rep_login" in result.output
    assert svc.registry.count() > 0
    bad = app.test_cli_runner().invoke(main, ["simulate", "--url", "http://127.0.0.1:9", "--steps", "1"])
    assert bad.exit_code != 0 and "--client-id" in bad.output


def test_a_run_with_sessions_redeems_keys_transfers_and_terminates(svc, command):
    from gateway.seeding import site

    svc.sessions.configure_site(*site.site_for([]))
    simulator = Simulator(11, START, 20, sessions=True)
    counts = run(simulator, LocalSink(svc.registry, svc.sessions), steps=400, pace=False)
    for action in ("key_session", "session_transfer", "session_terminate", "session_start"):
        assert counts[action] > 0, action
    assert (
        counts["session_calls"]
        == counts["key_session"] + counts["session_transfer"] + counts["session_terminate"]
    )
    stored = svc.store.sessions.list_sessions(active_only=False)
    keyed = [s for s in stored if s.short_key]
    assert len(keyed) == counts["key_session"]
    ended = [s for s in keyed if not s.active]
    assert len(ended) == counts["session_terminate"] and len(keyed) - len(ended) == len(simulator.keyed)
    customers = {
        c.lsid: c
        for c in svc.store.registry.list_clients(ClientQuery(types=frozenset({ClientType.SUPPORT_CUSTOMER})))
    }
    for session in keyed:
        assert (session.lsid in customers) == session.active
        assert session.queue in ("general", *simulator_teams())
    parse(command("get_connected_clients", include_connections=1).data)  # validated against the XSD


def simulator_teams() -> tuple[str, ...]:
    from gateway.seeding.simulator import TEAM_QUEUES

    return TEAM_QUEUES


def test_sessions_leave_the_steps_of_a_seed_without_them_unchanged():
    plain = [s.canonical() for s in islice(Simulator(5, START, 10).steps(), 200)]
    again = [s.canonical() for s in islice(Simulator(5, START, 10, sessions=False).steps(), 200)]
    assert plain == again
    with_sessions = [s.canonical() for s in islice(Simulator(5, START, 10, sessions=True).steps(), 200)]
    assert with_sessions != plain and any('"calls"' in s for s in with_sessions)
