"""The JSON representation of clients, appliances and events: feed responses, fixture files, the
change log and the inspection API all write these shapes (and the feed schemas read them back).

Plain dicts from domain objects; no Flask. Flags are JSON booleans; times are UNIX seconds.
"""

from __future__ import annotations

from ..registry.model import Appliance, Client, ClientType, Connection, Event


def connection_json(conn: Connection) -> dict:
    out = {
        "appliance_id": conn.appliance_id,
        "purpose": conn.purpose,
        "receive_traffic_node": conn.receive_traffic_node,
        "connected_since": conn.connected_since,
        "private_ip": conn.private_ip,
    }
    if conn.connected_since_offset:
        out["connected_since_offset"] = conn.connected_since_offset
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
        rep = client.rep
        out["representative"] = {
            "user_id": rep.user_id,
            "type": rep.type,
            "username": rep.username,
            "public_display_name": rep.public_display_name,
            "private_display_name": rep.private_display_name,
            "start_session_url": rep.start_session_url,
            "presentation_count": rep.presentation_count,
            "support_session_count": rep.support_session_count,
            "showing_on_rep_list": rep.showing_on_rep_list,
            "routing_idle": rep.routing_idle,
            "routing_busy": rep.routing_busy,
            "routing_enabled": rep.routing_enabled,
            "routing_available": rep.routing_available,
            "support_license": rep.support_license,
            "support_session_lsids": list(rep.support_session_lsids),
        }
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
    return {
        "id": appliance.id,
        "name": appliance.name,
        "hostname": appliance.hostname,
        "public_hostname": appliance.public_hostname,
        "cluster_role": appliance.cluster_role,
        "failover_role": appliance.failover_role,
        "accepting_connections": appliance.accepting_connections,
        "timezone_offset": appliance.timezone_offset,
        "version": appliance.version,
        "healthy": appliance.healthy,
        "error_message": appliance.error_message,
        "enabled_shared_ips": list(appliance.enabled_shared_ips),
        "last_data_sync_time": appliance.last_data_sync_time,
        "last_data_sync_status": appliance.last_data_sync_status,
        "pinned_clients": appliance.pinned_clients,
    }


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
