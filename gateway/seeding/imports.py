"""Importing a capture of a real appliance's ``get_connected_clients`` answer into the registry.

``replace`` (the default) makes the registry's clients exactly the capture's (appliances stay;
unknown appliance GUIDs get placeholders), so that serving it again gives the capture back;
``merge`` connects the captured clients beside the current ones (a connected id is a conflict).
A capture file that holds the appliances too (``gateway clients capture``) replaces them with its own on
``replace`` and adds or updates them on ``merge``, so get_appliances gives its answer back as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import GatewayError
from gateway.registry.operations import Connect, placeholder_appliance
from gateway.registry.service import Registry
from gateway.xml.capture import parse_capture


@dataclass
class ImportResult:
    mode: str
    namespace: str
    clients: int
    appliances_created: list[str]

    def public(self) -> dict:
        return {
            "mode": self.mode,
            "namespace": self.namespace,
            "imported": self.clients,
            "appliances_created": self.appliances_created,
        }


def import_capture(
    registry: Registry,
    data: bytes,
    *,
    replace: bool = True,
    max_bytes: int = 16 << 20,
    advance: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate the whole capture, then write it in one transaction (nothing is written on error).
    ``advance`` is told each of the three stages done (parsed, prepared, written)."""
    step = advance or (lambda _done: None)
    capture = parse_capture(data, max_bytes)
    step(1)
    clients = [c.client for c in capture.clients]
    appliances = registry.appliances() if capture.appliances is None or not replace else capture.appliances
    known = {a.id for a in appliances}
    created = list(
        dict.fromkeys(
            conn.appliance_id
            for client in clients
            for conn in client.connections
            if conn.appliance_id not in known
        )
    )
    if replace:
        position = max((a.position for a in appliances), default=-1) + 1
        appliances += [placeholder_appliance(guid, position + i) for i, guid in enumerate(created)]
        population = registry.prepare(appliances, clients)
        step(1)
        registry.reset(
            population, note={"source": "import", "namespace": capture.namespace, "clients": len(clients)}
        )
        step(1)
    else:
        try:
            registry.apply([Connect(client) for client in clients])
        except GatewayError as exc:
            index = exc.operation
            if index is not None:
                where = capture.clients[index]
                exc.message = f'<{where.element} id="{where.client.id}"> (line {where.line}): {exc.message}'
                exc.details = {**exc.details, "line": where.line}
            raise
        if capture.appliances:  # after the clients, so that a refused capture changes nothing
            registry.upsert_appliances(capture.appliances)
        step(2)
    return ImportResult("replace" if replace else "merge", capture.namespace, len(clients), created)
