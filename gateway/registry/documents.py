"""The JSON representation of clients, appliances and events: feed responses, fixture files, the
change log and the inspection API all write these shapes (and the feed schemas read them back).

Plain dicts from domain objects; no Flask. Flags are JSON booleans; times are UNIX seconds.
"""

from __future__ import annotations

from dataclasses import asdict

from gateway.registry.inspection import ClientDetail, ClientRecord, Found, LogEntry, Page
from gateway.registry.model import Appliance, Client, ClientType, Connection, Event


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


# --- the inspection API ---------------------------------------------------------------------------
def record_json(found: ClientRecord, *, events: list[Event] | None = None) -> dict:
    """A client record: the client's fields, its state (disconnect fields null while connected), its
    record number, last activity and how many events its history holds; ``events`` only in details."""
    out = client_json(found.client, events=events or [])
    if events is None:
        del out["events"]
    out.update(record=found.record, last_activity=found.last_activity, event_count=found.event_count,
               disconnected_at=found.client.disconnected_at, disconnect_reason=found.client.disconnect_reason,
               disconnect_initiator=found.client.disconnect_initiator)
    return out


def record_summary(found: ClientRecord) -> dict:
    client = found.client
    return {"record": found.record, "connected": client.connected, "connected_since": client.connected_since,
            "disconnected_at": client.disconnected_at, "disconnect_reason": client.disconnect_reason,
            "disconnect_initiator": client.disconnect_initiator, "last_activity": found.last_activity}


def detail_json(detail: ClientDetail) -> dict:
    """``/clients/{id}``: the chosen record with its last 20 events, when the id last connected and last
    disconnected (over all its visible records; null if never), and every record of the id, newest first."""
    out = record_json(detail.current, events=detail.current.client.recent_events())
    disconnects = [r.client.disconnected_at for r in detail.records if r.client.disconnected_at is not None]
    out["last_connected_at"] = max(r.client.connected_since for r in detail.records)
    out["last_disconnected_at"] = max(disconnects, default=None)
    out["records"] = [record_summary(r) for r in detail.records]
    return out


def log_entry_json(entry: LogEntry) -> dict:
    return {**event_json(entry.event), "client_id": entry.client_id, "record": entry.record,
            "type": entry.client_type.value}


def page_json(found: Found, page: Page, items: list[dict]) -> dict:
    """``{"items", "pagination"}``: the page in both styles (page/page_size and offset/count)."""
    size = page.limit
    number = page.offset // size + 1
    pages = -(-found.total // size)
    return {
        "items": items,
        "pagination": {
            "page": number, "page_size": size, "pages": pages, "total": found.total,
            "has_next": page.offset + len(found.items) < found.total, "has_prev": page.offset > 0,
            "offset": page.offset, "count": len(items),
        },
    }
