"""The Out schemas dump through functions generated from their fields (gateway.registry.shapes): each gives
what marshmallow's own dump of the same schema gives, for every kind of object the gateway dumps."""

from __future__ import annotations

from dataclasses import replace

import pytest
from marshmallow import Schema

from gateway.registry import documents
from gateway.registry.inspection import ClientDetail, ClientRecord, Found, LogEntry, Page
from gateway.registry.model import Change, Event
from gateway.registry.operations import AppendEvents, Connect, Disconnect, Update
from tests import populations

T0 = populations.T0


def _clients():
    for client in populations.clients():
        yield client
        yield replace(
            client,
            connected=False,
            disconnected_at=T0,
            disconnect_reason="bye",
            disconnect_initiator="network",
            connected_since_offset="-05:00",
            events=[Event(T0, "stored", "info", 7), Event(T0, "not stored yet")],
        )


def _cases():
    clients = list(_clients())
    # a record is a stored row: it has its key
    records = [ClientRecord(replace(client, key=index), T0, 3) for index, client in enumerate(clients, 1)]
    for client in clients:
        yield documents.CLIENT, client
        yield documents.CLIENT_AS_INPUT, client
        yield documents.CLIENT_CHANGE, documents.Written("connect", client, None)
        yield documents.CLIENT_CHANGE, documents.Written("update", client, ["hostname"])
        yield documents.EVENTS_CHANGE, documents.Written("event", client, client.events)
        yield documents.DISCONNECT_CHANGE, client
        yield documents.BatchItemOut(), (Connect(client), client)
    for record in records:
        yield documents.RecordOut(), record
        yield documents.RecordSummaryOut(), record
        yield documents.DetailOut(), ClientDetail(record, records[:3])
    for window in (Page(0, 2), Page(2, 2), Page(4, 3)):
        yield documents.ClientPageOut(), documents.PageOf(Found(records[:2], 9), window)
        entries = [LogEntry(Event(T0, "x", "info", 5), 101, 2, clients[0].type)]
        yield documents.LogPageOut(), documents.PageOf(Found(entries, 1), window)
    yield (
        documents.BatchResultOut(),
        [(Update(101, {}), clients[0]), (AppendEvents(102, []), clients[1]), (Disconnect(103), clients[2])],
    )
    yield documents.ChangeEventOut(), Change(4, T0, "event", 101, {"type": "representative", "events": []})
    yield documents.ChangeEventOut(), Change(5, T0, "reset", None, {"fixture": "empty"})
    for appliance in populations.appliances():
        yield documents.APPLIANCE, appliance


@pytest.mark.parametrize("schema, obj", list(_cases()))
def test_the_generated_dump_is_marshmallows(schema, obj):
    assert schema.dump(obj) == Schema.dump(schema, obj)
    assert list(schema.dump(obj)) == list(Schema.dump(schema, obj))  # the same order of keys


def test_a_client_as_the_feed_takes_it_loads_back_as_the_same_client():
    from gateway.registry.schemas import ClientSchema

    for client in populations.clients():
        again = ClientSchema().load(documents.client_json(client, state=False))
        assert documents.client_json(again, state=False) == documents.client_json(client, state=False)
