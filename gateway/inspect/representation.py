"""The JSON representation of clients, appliances and events: feed responses, fixture files, the
change log and the inspection API all write these shapes (and the feed schemas read them back).

Plain dicts from domain objects; no Flask. Flags are JSON booleans; times are UNIX seconds.
"""

from __future__ import annotations

from dataclasses import asdict

from ..registry.model import Appliance, Client, ClientType, Connection, Event


def connection_json(conn: Connection) -> dict:
    out = asdict(conn)
    if not out["connected_since_offset"]:
        del out["connected_since_offset"]
    return out


def event_json(event: Event, with_seq: bool = True) -> dict:
    out = {"ts": event.ts, "kind": event.kind, "text": event.text}
    if with_seq and event.seq is not None:
        out["seq"] = event.seq
    return out


def client_json(client: Client, *, state: bool = True, events: list[Event] | None = None) -> dict:
    """A client as JSON. ``state`` adds the registry's own fields (connected, disconnect details);
    without it the dict is exactly what the feed accepts to connect the client again.
    ``events`` replaces the client's own list (e.g. only the recent ones)."""
    out: dict = {
        "id": client.id,
        "type": client.type.value,
        "hostname": client.hostname,
        "platform": client.platform,
        "platform_id": client.platform_id,
        "timezone_offset": client.timezone_offset,
        "connected_since": client.connected_since,
    }
    if client.connected_since_offset:
        out["connected_since_offset"] = client.connected_since_offset
    if client.type is ClientType.REPRESENTATIVE:
        out["representative"] = asdict(client.rep)
    else:
        out["name"] = client.name or ""
    if client.type is ClientType.SUPPORT_CUSTOMER:
        out["lsid"] = client.lsid or ""
        out["non_interactive"] = client.non_interactive
    out["connections"] = [connection_json(c) for c in client.connections]
    listed = client.events if events is None else events
    out["events"] = [event_json(e, with_seq=state) for e in listed]
    if state:
        out["connected"] = client.connected
        if not client.connected:
            out["disconnected_at"] = client.disconnected_at
            out["disconnect_reason"] = client.disconnect_reason
            out["disconnect_initiator"] = client.disconnect_initiator
    return out


def appliance_json(appliance: Appliance) -> dict:
    """An appliance as the feed takes it (its position is its place in the list)."""
    out = asdict(appliance)
    del out["position"]
    return out


def change(kind: str, client: Client, detail: object) -> dict:
    """The payload of a change-log entry (see Store.apply_writes): what a live stream shows of a write."""
    if kind == "event":
        return {"type": client.type.value, "events": [event_json(e) for e in detail]}
    if kind == "disconnect":
        return {"type": client.type.value, "disconnected_at": client.disconnected_at,
                "reason": client.disconnect_reason, "initiator": client.disconnect_initiator}
    payload = {"client": client_json(client, state=False, events=[])}
    if kind == "update":
        payload["fields"] = detail
    return payload
