"""The store's JSON text: orjson where it can, the standard library where orjson refuses, same values back."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.model import Event
from gateway.registry.operations import AppendEvents, Connect
from gateway.storage import jsontext
from tests.storage.test_feed_store import NOW, apply, jumpoint, store  # noqa: F401 - the fixture

# JSON-like values, including what orjson refuses: integers beyond 64 bits, lone surrogates, integer keys.
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text() | st.integers(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_values_read_back_as_the_standard_library_reads_its_own_text(value):
    text = jsontext.dumps(value)
    assert isinstance(text, str) and jsontext.loads(text) == json.loads(json.dumps(value))


def test_what_orjson_refuses_is_written_by_the_standard_library():
    for value in ({"n": 2**70}, {"text": "lone \ud800"}, {1: "integer key"}):
        assert jsontext.dumps(value) == json.dumps(value, separators=(",", ":"))
    assert jsontext.dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}', "compact, non-ASCII kept as UTF-8"


def test_a_change_payload_with_any_text_comes_back_from_the_log(store):  # noqa: F811 - the fixture
    [client] = apply(store, Connect(jumpoint()))
    texts = [
        "Verbindung getrennt: Zeitüberschreitung",
        "接続が切断されました",
        'quote " back\\slash \t tab',
        "😀",
    ]
    apply(store, AppendEvents(client.id, [Event(NOW, text, "info") for text in texts]))
    last = store.changes.changes_after(0)[-1]
    assert last.kind == "event" and [e["text"] for e in last.payload["events"]] == texts
