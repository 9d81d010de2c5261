"""One ``<connected_*>`` element per client, in the vendor's documented field order.

Rendered once when a client is written (with and without its connections) and kept beside it,
so that serving a dump costs no serialization.
"""

from __future__ import annotations

from lxml import etree

from ..registry.model import Client, ClientType
from ..registry.service import ClientList
from .document import Builder, document, flag, stream, to_bytes
from .timestamps import format_time

_FRAGMENT = Builder(None)


def _timestamped(parent: etree._Element, name: str, ts: int, offset: str | None) -> None:
    _FRAGMENT.sub(parent, name, format_time(ts, offset), ts=ts)


def _connections(parent: etree._Element, client: Client) -> None:
    sub = _FRAGMENT.sub
    holder = sub(parent, "client_connections")
    for conn in client.connections:
        el = sub(holder, "client_connection")
        sub(el, "appliance_id", conn.appliance_id)
        sub(el, "purpose", conn.purpose)
        sub(el, "receive_traffic_node", flag(conn.receive_traffic_node))
        _timestamped(el, "connected_since", conn.connected_since, conn.connected_since_offset)
        sub(el, "private_ip", conn.private_ip)
    log = sub(holder, "event_log")
    for event in client.recent_events():  # the longest part of a fragment: built without the helper's generality
        etree.SubElement(log, "event", ts=str(event.ts)).text = event.text


def client_element(client: Client, include_connections: bool) -> etree._Element:
    sub = _FRAGMENT.sub
    root = etree.Element(client.type.element, id=str(client.id))
    if include_connections:
        _connections(root, client)
    sub(root, "hostname", client.hostname)
    sub(root, "platform", client.platform, id=client.platform_id)
    sub(root, "timezone_offset", client.timezone_offset)
    if include_connections:
        _timestamped(root, "connected_since", client.connected_since, client.connected_since_offset)
    if client.type is ClientType.REPRESENTATIVE:
        rep = client.rep
        sub(root, "user_id", rep.user_id)
        sub(root, "type", rep.type)
        sub(root, "username", rep.username)
        sub(root, "public_display_name", rep.public_display_name)
        sub(root, "private_display_name", rep.private_display_name)
        sub(root, "start_session_url", rep.start_session_url)
        sub(root, "presentation_count", rep.presentation_count)
        sub(root, "support_session_count", rep.support_session_count)
        sub(root, "showing_on_rep_list", flag(rep.showing_on_rep_list))
        sub(root, "routing_idle", flag(rep.routing_idle))
        sub(root, "routing_busy", flag(rep.routing_busy))
        sub(root, "routing_enabled", flag(rep.routing_enabled))
        sub(root, "routing_available", flag(rep.routing_available))
        sub(root, "support_license", rep.support_license)
        lsids = sub(root, "support_session_lsids")
        for lsid in rep.support_session_lsids:
            sub(lsids, "lsid", lsid)
    else:
        sub(root, "name", client.name or "")
        if client.type is ClientType.SUPPORT_CUSTOMER:
            if client.non_interactive:
                sub(root, "non_interactive", client.non_interactive)
            sub(root, "lsid", client.lsid or "")
    return root


def render_client(client: Client, *, brief: bool = True) -> tuple[bytes | None, bytes]:
    """The client's fragment without and with ``include_connections`` (without: None when ``brief`` is False,
    for writes that change only what include_connections shows, such as appended events)."""
    return (to_bytes(client_element(client, False)) if brief else None), to_bytes(client_element(client, True))


def connected_clients(fragments, namespace: str):
    """``<connected_clients>`` around cached client fragments: streamed for a dump, one body (with a
    Content-Length) when the fragments are already in hand (a request for given ids)."""
    document_parts = stream("connected_clients", namespace, fragments)
    return b"".join(document_parts) if isinstance(fragments, list) else document_parts


def connected_client_list(result: ClientList, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("connected_client_list")
    summary = b.sub(root, "connected_client_summary")
    for appliance in result.summaries:
        el = b.sub(summary, "appliance_summary", id=appliance.appliance_id)
        for ctype, count in appliance.counts.items():
            b.sub(el, "count", count, type=ctype)
    for ctype, client_id in result.clients or ():
        b.sub(root, "connected_client", type=ctype, id=client_id)
    return document(root)
