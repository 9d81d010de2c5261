"""One ``<connected_*>`` element per client, in the vendor's documented field order.

Rendered once when a client is written (with and without its connections) and kept beside it,
so that serving a dump costs no serialization.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lxml import etree

from gateway.registry.model import Client, ClientType
from gateway.registry.service import ClientList
from gateway.xml.document import Builder, document, flag, stream, to_bytes
from gateway.xml.timestamps import format_time

# Fragments have no namespace (see document.py): elements are made with etree.SubElement directly, which
# costs a fifth less than going through a Builder; every feed write renders its client again.
_sub = etree.SubElement


def _text(parent: etree._Element, name: str, text: str) -> None:
    _sub(parent, name).text = text


def _timestamped(parent: etree._Element, name: str, ts: int, offset: str | None) -> None:
    _sub(parent, name, ts=str(ts)).text = format_time(ts, offset)


def _event_log(parent: etree._Element | None, client: Client) -> etree._Element:
    """``<event_log>`` with the client's newest 20 events (the longest part of a fragment)."""
    log = etree.Element("event_log") if parent is None else _sub(parent, "event_log")
    for event in client.recent_events():
        _sub(log, "event", ts=str(event.ts)).text = event.text
    return log


def _connections(parent: etree._Element, client: Client) -> None:
    holder = _sub(parent, "client_connections")
    for conn in client.connections:
        el = _sub(holder, "client_connection")
        _text(el, "appliance_id", conn.appliance_id)
        _text(el, "purpose", conn.purpose)
        _text(el, "receive_traffic_node", flag(conn.receive_traffic_node))
        _timestamped(el, "connected_since", conn.connected_since, conn.connected_since_offset)
        _text(el, "private_ip", conn.private_ip)
    _event_log(holder, client)


def client_element(client: Client, include_connections: bool) -> etree._Element:
    root = etree.Element(client.type.element, id=str(client.id))
    if include_connections:
        _connections(root, client)
    _text(root, "hostname", client.hostname)
    _sub(root, "platform", id=client.platform_id).text = client.platform
    _text(root, "timezone_offset", str(client.timezone_offset))
    if include_connections:
        _timestamped(root, "connected_since", client.connected_since, client.connected_since_offset)
    if client.type is ClientType.REPRESENTATIVE:
        rep = client.rep
        assert rep is not None  # the feed and the store give every representative its rep record
        _text(root, "user_id", str(rep.user_id))
        _text(root, "type", rep.type)
        _text(root, "username", rep.username)
        _text(root, "public_display_name", rep.public_display_name)
        _text(root, "private_display_name", rep.private_display_name)
        _text(root, "start_session_url", rep.start_session_url)
        _text(root, "presentation_count", str(rep.presentation_count))
        _text(root, "support_session_count", str(rep.support_session_count))
        _text(root, "showing_on_rep_list", flag(rep.showing_on_rep_list))
        _text(root, "routing_idle", flag(rep.routing_idle))
        _text(root, "routing_busy", flag(rep.routing_busy))
        _text(root, "routing_enabled", flag(rep.routing_enabled))
        _text(root, "routing_available", flag(rep.routing_available))
        _text(root, "support_license", rep.support_license)
        lsids = _sub(root, "support_session_lsids")
        for lsid in rep.support_session_lsids:
            _text(lsids, "lsid", lsid)
    else:
        _text(root, "name", client.name or "")
        if client.type is ClientType.SUPPORT_CUSTOMER:
            if client.non_interactive:
                _text(root, "non_interactive", str(client.non_interactive))
            _text(root, "lsid", client.lsid or "")
    return root


_LOG_START, _LOG_EMPTY, _LOG_END = b"<event_log", b"<event_log/>", b"</event_log>"


def _with_event_log(client: Client, full: bytes) -> bytes:
    """``full`` (the client's fragment with connections, as rendered before) with its event log rebuilt from
    ``client``: the same bytes as rendering the whole element again when nothing but the events changed, for
    half the cost. Text and attribute values are escaped, so the first ``<event_log`` is the element."""
    start = full.find(_LOG_START)
    if start < 0:  # pragma: no cover - every full fragment has one; render it whole rather than trust it
        return to_bytes(client_element(client, True))
    end = (
        start + len(_LOG_EMPTY)
        if full.startswith(_LOG_EMPTY, start)
        else full.index(_LOG_END, start) + len(_LOG_END)
    )
    return full[:start] + to_bytes(_event_log(None, client)) + full[end:]


def render_client(
    client: Client, *, brief: bool = True, events_of: bytes | None = None
) -> tuple[bytes | None, bytes]:
    """The client's fragment without and with ``include_connections`` (without: None when ``brief`` is False,
    for writes that change only what include_connections shows, such as appended events).

    ``events_of``: the client's fragment with connections before a write that changed only its events (an
    append); the new one is that fragment with the event log rendered again."""
    full = to_bytes(client_element(client, True)) if events_of is None else _with_event_log(client, events_of)
    return (to_bytes(client_element(client, False)) if brief else None), full


def connected_clients(fragments: Iterable[bytes], namespace: str) -> bytes | Iterator[bytes]:
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
