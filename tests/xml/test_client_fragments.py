"""A client's fragment after an append: only its event log is rendered again, and the bytes are exactly those
of rendering the whole element (what the store keeps is what a dump serves)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.model import ClientQuery, Event
from gateway.registry.operations import AppendEvents, Connect
from gateway.registry.text import is_xml_safe
from gateway.xml import document
from gateway.xml.clients import client_element, connected_clients, render_client
from gateway.xml.document import LAYOUTS
from tests import populations
from tests.storage.test_feed_store import NOW, apply, store  # noqa: F401 - the fixture

# What the feed lets into a text: anything XML can carry, markup characters and "</event_log>" included.
texts = st.text(max_size=40).filter(is_xml_safe) | st.sampled_from(
    ["</event_log>", "<event_log/>", "<event_log>", "&amp;"]
)
NS = "https://www.beyondtrust.com/namespaces/API/command"
events = st.lists(st.builds(Event, ts=st.integers(0, 2**40), text=texts, kind=st.just("info")), max_size=25)


@given(which=st.integers(0, len(populations.clients()) - 1), old=events, new=events.filter(bool))
def test_an_append_rebuilds_the_event_log_to_the_bytes_of_a_whole_render(which, old, new):
    client = populations.clients()[which]
    client.events = old
    stored = render_client(client)[1]
    client.events = old + new
    assert render_client(client, brief=False, events_of=stored) == (None, render_client(client)[1])


def test_the_stored_fragment_after_appends_is_a_whole_render_of_the_client(store):  # noqa: F811 - the fixture
    [client] = apply(store, Connect(populations.clients()[0]))
    sizes = (1, 5, 30, 2)
    for step, size in enumerate(sizes):
        [client] = apply(
            store, AppendEvents(client.id, [Event(NOW + size, f"<{size}> & </event_log>", "info")] * size)
        )
        [fragment] = store.registry.iter_fragments(ClientQuery(ids=(client.id,), include_connections=True))
        assert bytes(fragment) == render_client(client)[1], f"after appending {size}"
        assert len(client.events) == min(20, 3 + sum(sizes[: step + 1]))


@pytest.mark.parametrize("layout", LAYOUTS)
@given(
    picks=st.lists(st.integers(0, len(populations.clients()) - 1), max_size=4),
    names=st.lists(texts | st.just(""), min_size=4, max_size=4),
    include=st.booleans(),
)
def test_a_streamed_dump_has_the_bytes_of_the_whole_tree_in_each_layout(layout, picks, names, include):
    """The dump streams stored (compact) fragments, indenting them for the pretty layout; the bytes are those
    of building the whole document as one tree and serializing it (etree.indent for pretty). Empty texts
    (``<name></name>``), markup characters and an empty dump included."""
    clients = [populations.clients()[which] for which in picks]
    for client, name in zip(clients, names, strict=False):
        if client.name is not None:
            client.name = name
    with document.layout(layout):
        streamed = b"".join(
            connected_clients(iter([render_client(c)[1 if include else 0] for c in clients]), NS)
        )
        root = document.Builder(NS).root("connected_clients")
        for client in clients:
            root.append(client_element(client, include))
        assert streamed == document.document(root)


def test_the_layouts_differ_only_in_whitespace_between_elements():
    client = populations.clients()[0]
    bodies = {}
    for layout in LAYOUTS:
        with document.layout(layout):
            bodies[layout] = connected_clients([render_client(client)[1]], NS)
    pretty, compact = bodies["pretty"], bodies["compact"]
    assert compact.count(b"\n") == 1 and pretty.endswith(b"</connected_clients>\n")
    assert b"\n    <hostname>" in pretty and b"\n  <connected_" in pretty
    head = len(document.XML_DECLARATION)
    assert pretty[:head] == compact[:head] == document.XML_DECLARATION
    assert re.sub(rb">\n *<", b"><", pretty[head:]).rstrip(b"\n") == compact[head:]
