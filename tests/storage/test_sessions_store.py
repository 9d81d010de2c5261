"""The session repository on every engine (the database_url fixture names it): sessions, chat, keys, teams
and attribute definitions round-trip; a unit of work that fails writes none of them."""

from __future__ import annotations

import pytest

from gateway.registry.sessions import (
    ChatMessage,
    CustomAttribute,
    Issue,
    SessionKey,
    SupportSession,
    SupportTeam,
    TeamMember,
)
from gateway.storage import open_store


@pytest.fixture
def store(database_url):
    store = open_store(database_url)
    yield store
    store.close()


TEAM = SupportTeam(
    7,
    "Field Team",
    "field",
    "On site",
    [TeamMember(3, "Ann B.", "lead")],
    [Issue(9, "onsite", "On-site visit")],
)


def test_site_round_trip_and_replace(store):
    with store.transaction() as unit:
        unit.sessions.replace_site(
            [TEAM], [CustomAttribute("ticket_id", "Ticket ID"), CustomAttribute("a", "A")]
        )
    assert store.sessions.list_teams() == [TEAM]
    assert [a.code_name for a in store.sessions.list_attributes()] == ["ticket_id", "a"]
    with store.transaction() as unit:
        unit.sessions.replace_site([], [CustomAttribute("b", "B")])
    assert store.sessions.list_teams() == []
    assert store.sessions.list_attributes() == [CustomAttribute("b", "B")]


def test_session_and_chat_round_trip(store):
    session = SupportSession(
        "ab" * 16,
        "team:7",
        100,
        42,
        "Pat",
        [3, 5],
        {"ticket_id": "INC-1", "x": "\u00e9\u4e2d"},
        short_key="1234567",
    )
    with store.transaction() as unit:
        assert unit.sessions.load_session(session.lsid) is None
        unit.sessions.save_session(session)
        unit.sessions.add_chat(session.lsid, ChatMessage(101, "system", "System", "hello"))
        unit.sessions.add_chat(session.lsid, ChatMessage(102, "representative", "Ann B.", "hi", 3))
    loaded = store.sessions.get_session(session.lsid)
    assert loaded.chat == [
        ChatMessage(101, "system", "System", "hello"),
        ChatMessage(102, "representative", "Ann B.", "hi", 3),
    ]
    loaded.chat = []
    assert loaded == session
    session.rep_ids, session.ended_at, session.end_reason = [], 200, "terminated"
    with store.transaction() as unit:
        unit.sessions.save_session(session)  # an upsert
    assert store.sessions.list_sessions() == []
    assert [s.lsid for s in store.sessions.list_sessions(active_only=False)] == [session.lsid]


def test_keys_round_trip(store):
    key = SessionKey("7654321", "general", 10, 20, {"ticket_id": "T"})
    with store.transaction() as unit:
        assert not unit.sessions.key_exists(key.short_key)
        unit.sessions.save_key(key)
    with store.transaction() as unit:
        loaded = unit.sessions.load_key(key.short_key)
        assert loaded == key and loaded.usable(19) and not loaded.usable(20)
        loaded.redeemed_lsid = "cd" * 16
        unit.sessions.save_key(loaded)
    with store.transaction() as unit:
        assert not unit.sessions.load_key(key.short_key).usable(11)
        unit.sessions.clear()
        assert unit.sessions.load_key(key.short_key) is None


def test_a_failed_unit_writes_nothing(store):
    def write_then_fail():
        with store.transaction() as unit:
            unit.sessions.save_session(SupportSession("ef" * 16, "general", 1))
            unit.sessions.save_key(SessionKey("1111111", "general", 1, 2))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert store.sessions.get_session("ef" * 16) is None
    with store.transaction() as unit:
        assert not unit.sessions.key_exists("1111111")
