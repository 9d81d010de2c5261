"""Registry objects to rows and back: the columns of appliances, clients, connections and events."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gateway.registry.model import Appliance, Client, ClientType, Connection, Event, RepresentativeInfo
from gateway.storage import jsontext


def appliance_values(a: Appliance) -> dict[str, Any]:
    return {
        "id": a.id,
        "position": a.position,
        "name": a.name,
        "hostname": a.hostname,
        "public_hostname": a.public_hostname,
        "cluster_role": a.cluster_role,
        "failover_role": a.failover_role,
        "accepting_connections": a.accepting_connections,
        "timezone_offset": a.timezone_offset,
        "version": a.version,
        "healthy": a.healthy,
        "error_message": a.error_message,
        "enabled_shared_ips": jsontext.dumps(a.enabled_shared_ips),
        "last_data_sync_time": a.last_data_sync_time,
        "last_data_sync_status": a.last_data_sync_status,
        "pinned_clients": a.pinned_clients,
    }


def appliance(r: Any) -> Appliance:
    return Appliance(
        id=r.id,
        position=r.position,
        name=r.name,
        hostname=r.hostname,
        public_hostname=r.public_hostname,
        cluster_role=r.cluster_role,
        failover_role=r.failover_role,
        accepting_connections=bool(r.accepting_connections),
        timezone_offset=r.timezone_offset,
        version=r.version,
        healthy=bool(r.healthy),
        error_message=r.error_message,
        enabled_shared_ips=jsontext.loads(r.enabled_shared_ips),
        last_data_sync_time=r.last_data_sync_time,
        last_data_sync_status=r.last_data_sync_status,
        pinned_clients=r.pinned_clients,
    )


def _details(client: Client) -> str:
    details: dict[str, Any]
    if client.type is ClientType.REPRESENTATIVE:
        assert client.rep is not None
        details = asdict(client.rep)
        del details["username"]  # a column of its own
    elif client.type is ClientType.SUPPORT_CUSTOMER:
        details = {"non_interactive": client.non_interactive, "lsid": client.lsid}
    else:
        details = {}
    return jsontext.dumps(details)


def last_activity(client: Client) -> int:
    return max([client.connected_since] + [e.ts for e in client.events[-1:]])


def client_values(client: Client, brief: bytes, full: bytes) -> dict[str, Any]:
    return {
        "id": client.id,
        "type": client.type.value,
        "connected": client.connected,
        "hostname": client.hostname,
        "platform": client.platform,
        "platform_id": client.platform_id,
        "timezone_offset": client.timezone_offset,
        "connected_since": client.connected_since,
        "connected_since_offset": client.connected_since_offset,
        "name": client.name,
        "username": client.username,
        "primary_appliance": client.primary_appliance_id(),
        "details": _details(client),
        "last_activity": last_activity(client),
        "disconnected_at": client.disconnected_at,
        "disconnect_reason": client.disconnect_reason,
        "disconnect_initiator": client.disconnect_initiator,
        "xml_brief": brief,
        "xml_full": full,
        # Any write clears it: the row no longer is what a reset loaded (see RegistryRows.load_population).
        "fixture_row": None,
    }


def client(row: Any) -> Client:
    details = jsontext.loads(row.details)
    ctype = ClientType(row.type)
    out = Client(
        key=row.key,
        id=row.id,
        type=ctype,
        hostname=row.hostname,
        platform=row.platform,
        platform_id=row.platform_id,
        timezone_offset=row.timezone_offset,
        connected_since=row.connected_since,
        connected_since_offset=row.connected_since_offset,
        name=row.name,
        connected=bool(row.connected),
        disconnected_at=row.disconnected_at,
        disconnect_reason=row.disconnect_reason,
        disconnect_initiator=row.disconnect_initiator,
    )
    if ctype is ClientType.REPRESENTATIVE:
        out.rep = RepresentativeInfo(username=row.username or "", **details)
    elif ctype is ClientType.SUPPORT_CUSTOMER:
        out.non_interactive = details.get("non_interactive")
        out.lsid = details.get("lsid")
    return out


def connection(row: Any) -> Connection:
    return Connection(
        appliance_id=row.appliance_id,
        purpose=row.purpose,
        receive_traffic_node=bool(row.receive_traffic_node),
        connected_since=row.connected_since,
        private_ip=row.private_ip,
        connected_since_offset=row.connected_since_offset,
    )


def connection_values(key: int, position: int, c: Connection) -> dict[str, Any]:
    return {
        "client_key": key,
        "position": position,
        "appliance_id": c.appliance_id,
        "purpose": c.purpose,
        "receive_traffic_node": c.receive_traffic_node,
        "connected_since": c.connected_since,
        "private_ip": c.private_ip,
        "connected_since_offset": c.connected_since_offset,
    }


def event(row: Any) -> Event:
    return Event(ts=row.ts, text=row.text, kind=row.kind, seq=row.seq)
