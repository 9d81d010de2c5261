"""Reading a ``get_connected_clients`` capture of a real appliance (``include_connections=1`` or not,
any namespace) into clients the feed schemas accept, and the capture files ``gateway clients capture``
writes: a ``<gateway_capture>`` document (namespace CAPTURE_NAMESPACE) holding the appliance's
``get_appliances`` and ``get_connected_clients`` answers verbatim (their XML declarations left out), so
an import restores the appliances too.

Parsing is safe: a size cap before parsing, no DTD (a DOCTYPE is refused), no entity expansion, no
network. The capture must match the command XSD retargeted to its own namespace; every
``connected_since`` must say the same instant in its text and its ``ts`` and be writable back
identically (its UTC offset is kept). Errors name the element and its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree
from marshmallow import ValidationError

from gateway.errors import InvalidRequestError, RequestTooLargeError
from gateway.registry.model import Appliance, Client
from gateway.registry.operations import problems
from gateway.registry.schemas import CLIENT_SCHEMAS
from gateway.registry.validation import first_problem
from gateway.xml import xsd
from gateway.xml.timestamps import parse_time

PREFIX = "connected_"
REP_FIELDS = (
    "user_id",
    "type",
    "username",
    "public_display_name",
    "private_display_name",
    "start_session_url",
    "presentation_count",
    "support_session_count",
    "showing_on_rep_list",
    "routing_idle",
    "routing_busy",
    "routing_enabled",
    "routing_available",
    "support_license",
)
INTEGERS = {"user_id", "presentation_count", "support_session_count", "timezone_offset"}
FLAGS = {
    "showing_on_rep_list",
    "routing_idle",
    "routing_busy",
    "routing_enabled",
    "routing_available",
    "receive_traffic_node",
}


@dataclass
class CapturedClient:
    client: Client
    element: str
    line: int | None  # lxml's sourceline (known for every parsed element)


@dataclass
class Capture:
    namespace: str
    clients: list[CapturedClient]
    #: The appliances of a capture file that holds a get_appliances answer (None: it holds none).
    appliances: list[Appliance] | None = None


#: The namespace of the capture files ``gateway clients capture`` writes.
CAPTURE_NAMESPACE = "urn:connected-clients-gateway:capture:1"
_DECLARATION_END = b"?>"


def _without_declaration(answer: bytes) -> bytes:
    text = answer.lstrip()
    if text.startswith(b"<?xml"):
        text = text[text.index(_DECLARATION_END) + len(_DECLARATION_END) :]
    return text.strip()


def capture_file(appliances: bytes | None, connected_clients: bytes, source: str, captured_at: str) -> bytes:
    """A capture file holding the answers as they came (only their XML declarations dropped)."""
    parts = [
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        f"<gateway_capture xmlns={quoteattr(CAPTURE_NAMESPACE)} source={quoteattr(source)} "
        f"captured_at={quoteattr(captured_at)}>\n".encode(),
    ]
    if appliances is not None:
        parts += [_without_declaration(appliances), b"\n"]
    parts += [_without_declaration(connected_clients), b"\n</gateway_capture>\n"]
    return b"".join(parts)


def _appliances(element: etree._Element, namespace: str) -> list[Appliance]:
    checker = xsd.schema(namespace)
    if not checker.validate(element):
        error = checker.error_log[0]
        raise _fail(f"line {error.line}: {error.message}", error.line, "appliances")
    if len(element) and etree.QName(element[0]).localname == "error":
        raise _fail("The capture's appliances are an <error> answer.", element[0].sourceline, "appliances")
    found = []
    for position, item in enumerate(element):
        values = {etree.QName(child).localname: child.text or "" for child in item}
        found.append(
            Appliance(
                id=item.attrib["id"],
                name=values["name"],
                hostname=values["public_hostname"],
                public_hostname=values["public_hostname"],
                cluster_role=values["cluster_role"],
                failover_role=values["failover_role"],
                accepting_connections=values["accepting_connections"] == "1",
                timezone_offset=int(values["timezone_offset"]),
                position=position,
            )
        )
    return found


def _unbundle(root: etree._Element) -> tuple[etree._Element, list[Appliance] | None]:
    """The connected_clients element of a capture file, and its appliances; a plain capture as it is."""
    if etree.QName(root).namespace != CAPTURE_NAMESPACE:
        return root, None
    answers = {etree.QName(child).localname: child for child in root}
    if "connected_clients" not in answers or set(answers) - {"connected_clients", "appliances"}:
        raise _fail(
            "A capture file holds a <connected_clients> answer and at most an <appliances> answer.",
            root.sourceline,
            "gateway_capture",
        )
    clients = answers["connected_clients"]
    appliances = answers.get("appliances")
    namespace = etree.QName(clients).namespace
    if appliances is None or not namespace:
        return clients, None
    if etree.QName(appliances).namespace != namespace:
        raise _fail(
            "The capture's two answers are in different namespaces.", appliances.sourceline, "appliances"
        )
    return clients, _appliances(appliances, namespace)


def _fail(message: str, line: int | None, field: str) -> InvalidRequestError:
    details: dict[str, str | int] = {"field": field}
    if line is not None:
        details["line"] = line
    return InvalidRequestError(message, details=details)


def _parse(data: bytes, max_bytes: int) -> etree._Element:
    if len(data) > max_bytes:
        raise RequestTooLargeError(f"The capture is larger than {max_bytes} bytes (GATEWAY_FEED_MAX_BODY).")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _fail(f"The capture is not well-formed XML: {exc}", exc.lineno, "body") from None
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise _fail("A capture may not carry a DOCTYPE (no DTDs, no entities).", 1, "body")
    return root


def _time(element: etree._Element, field: str) -> tuple[int, str | None]:
    ts = int(element.attrib["ts"])  # the XSD requires ts
    try:
        parsed, offset = parse_time(element.text or "")
    except ValueError as exc:
        raise _fail(f"line {element.sourceline}: <{field}>: {exc}", element.sourceline, field) from None
    if parsed != ts:
        raise _fail(
            f"line {element.sourceline}: <{field}> says {element.text} but ts={ts} "
            "(that is another instant).",
            element.sourceline,
            field,
        )
    return ts, offset


def _value(name: str, element: etree._Element) -> int | bool | str:
    text = element.text or ""
    if name in INTEGERS:
        return int(text)
    if name in FLAGS:
        return text == "1"
    return text


def event_kind(text: str) -> str:
    """The kind of a captured event (the XML face does not show kinds), guessed from its wording."""
    lowered = text.lower()
    if lowered.startswith("failed") or "failed to" in lowered:
        return "failure"
    if lowered.startswith("disconnected") or "lost" in lowered:
        return "disconnect"
    if lowered.startswith(("connected", "reconnected")):
        return "connect"
    return "info"


def _client_fields(element: etree._Element, ctype: str) -> dict[str, Any]:
    """The capture's element as the feed's JSON (the XSD already vouched for names, order and types)."""
    data: dict[str, Any] = {"id": int(element.attrib["id"]), "type": ctype}
    rep: dict[str, Any] = {}
    for child in element:
        name = etree.QName(child).localname
        if name == "client_connections":
            data["connections"], data["events"] = [], []
            for item in child:
                if etree.QName(item).localname == "event_log":
                    data["events"] = [
                        {"ts": int(e.attrib["ts"]), "text": e.text or "", "kind": event_kind(e.text or "")}
                        for e in item
                    ]
                    continue
                conn: dict[str, Any] = {}
                for part in item:
                    part_name = etree.QName(part).localname
                    if part_name == "connected_since":
                        conn["connected_since"], conn["connected_since_offset"] = _time(
                            part, "client_connection/connected_since"
                        )
                    else:
                        conn[part_name] = _value(part_name, part)
                data["connections"].append(conn)
        elif name == "platform":
            data["platform"], data["platform_id"] = child.text or "", child.get("id")
        elif name == "connected_since":
            data["connected_since"], data["connected_since_offset"] = _time(child, "connected_since")
        elif name == "support_session_lsids":
            rep["support_session_lsids"] = [lsid.text or "" for lsid in child]
        elif name in REP_FIELDS:
            rep[name] = _value(name, child)
        else:
            data[name] = _value(name, child)
    if ctype == "representative":
        data["representative"] = rep
    return data


def parse_capture(data: bytes, max_bytes: int) -> Capture:
    """The clients of a capture, validated whole; InvalidRequestError names the first problem."""
    root, appliances = _unbundle(_parse(data, max_bytes))
    qname = etree.QName(root)
    if qname.localname != "connected_clients" or not qname.namespace:
        raise _fail(
            f"The root element is <{qname.localname}>; "
            "a capture is a namespaced <connected_clients> document.",
            root.sourceline,
            "connected_clients",
        )
    checker = xsd.schema(qname.namespace)
    if not checker.validate(root):
        error = checker.error_log[0]
        raise _fail(f"line {error.line}: {error.message}", error.line, "body")
    if len(root) and etree.QName(root[0]).localname == "error":
        raise _fail("The capture is an <error> answer, not a list of clients.", root[0].sourceline, "error")
    captured: list[CapturedClient] = []
    seen: dict[int, int | None] = {}
    for element in root:
        name = etree.QName(element).localname
        fields = _client_fields(element, name[len(PREFIX) :])
        where = f'<{name} id="{fields["id"]}"> (line {element.sourceline})'
        if fields["id"] in seen:
            raise _fail(
                f"{where}: id {fields['id']} is listed twice (first on line {seen[fields['id']]}).",
                element.sourceline,
                "id",
            )
        seen[fields["id"]] = element.sourceline
        try:
            client = CLIENT_SCHEMAS[fields["type"]].load(fields)
        except ValidationError as exc:
            field, message = first_problem(exc.normalized_messages())
            raise _fail(f"{where}: {field}: {message}", element.sourceline, field) from None
        for problem in problems(client):
            raise _fail(f"{where}: {problem.field}: {problem.message}", element.sourceline, problem.field)
        captured.append(CapturedClient(client, name, element.sourceline))
    return Capture(qname.namespace, captured, appliances)
