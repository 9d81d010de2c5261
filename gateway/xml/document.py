"""Building and writing command-API documents with lxml.

Every document starts with the exact declaration ``<?xml version="1.0" encoding="UTF-8"?>`` and a
newline, then one root element carrying ``xmlns="NS"`` with unprefixed children. Client fragments
are serialized without a namespace and placed inside a root whose default namespace they inherit,
so a fragment's bytes are the same whatever the configured namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from lxml import etree

from gateway.registry.text import xml_safe

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPE = "text/xml; charset=UTF-8"


def flag(value: bool) -> str:
    return "1" if value else "0"


class Builder:
    """Creates elements in one namespace (None: no namespace, for cached fragments)."""

    def __init__(self, namespace: str | None):
        self.namespace = namespace

    def _tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}" if self.namespace else name

    def root(self, name: str) -> etree._Element:
        nsmap = {None: self.namespace} if self.namespace else None
        return etree.Element(self._tag(name), nsmap=nsmap)

    def sub(self, parent: etree._Element, name: str, text: object = None, **attrib: object) -> etree._Element:
        element = etree.SubElement(parent, self._tag(name), {k: str(v) for k, v in attrib.items()})
        if text is not None:
            element.text = str(text)
        return element


def to_bytes(element: etree._Element) -> bytes:
    """Serialize an element as UTF-8 without a declaration."""
    return etree.tostring(element, encoding="UTF-8", xml_declaration=False)


def document(root: etree._Element) -> bytes:
    return XML_DECLARATION + to_bytes(root)


@lru_cache(maxsize=256)
def envelope(root_name: str, namespace: str) -> tuple[bytes, bytes]:
    """The start and end tags of a root element, serialized by lxml, for streaming children."""
    root = Builder(namespace).root(root_name)
    root.text = ""  # forces a start/end pair instead of an empty-element tag
    serialized = to_bytes(root)
    start_end = serialized.rindex(b"</")
    return serialized[:start_end], serialized[start_end:]


def stream(root_name: str, namespace: str, fragments: Iterable[bytes]) -> Iterator[bytes]:
    """Yield a whole document: declaration, root start tag, the fragments, root end tag.

    Fragments are joined into chunks of about 64 KiB so that a large dump is written in few calls.
    """
    start, end = envelope(root_name, namespace)
    chunk = [XML_DECLARATION, start]
    size = len(start)
    for fragment in fragments:
        chunk.append(fragment)
        size += len(fragment)
        if size >= 65536:
            yield b"".join(chunk)
            chunk, size = [], 0
    chunk.append(end)
    yield b"".join(chunk)


def error_document(message: str, namespace: str, root_name: str | None = None) -> bytes:
    """An error: ``<error xmlns="NS">text</error>``, or nested in a list action's root."""
    message = xml_safe(message)
    builder = Builder(namespace)
    if root_name is None:
        root = builder.root("error")
        root.text = message
    else:
        root = builder.root(root_name)
        builder.sub(root, "error", message)
    return document(root)
