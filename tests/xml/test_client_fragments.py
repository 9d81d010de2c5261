"""A client's fragment after an append: only its event log is rendered again, and the bytes are exactly those
of rendering the whole element (what the store keeps is what a dump serves)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.model import ClientQuery, Event
from gateway.registry.operations import AppendEvents, Connect
from gateway.registry.text import is_xml_safe
from gateway.xml.clients import render_client
from tests import populations
from tests.storage.test_feed_store import NOW, apply, store  # noqa: F401 - the fixture

# What the feed lets into a text: anything XML can carry, markup characters and "</event_log>" included.
texts = st.text(max_size=40).filter(is_xml_safe) | st.sampled_from(
    ["</event_log>", "<event_log/>", "<event_log>", "&amp;"]
)
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
