"""Building and writing command-API documents with lxml.

Every document starts with the exact declaration ``<?xml version="1.0" encoding="UTF-8"?>`` and a
newline, then one root element carrying ``xmlns="NS"`` with unprefixed children. Client fragments
are serialized without a namespace and placed inside a root whose default namespace they inherit,
so a fragment's bytes are the same whatever the configured namespace.

Two byte layouts (GATEWAY_XML_LAYOUT; docs/fidelity.md): ``pretty``, the appliance's habit, one element per
line indented by two spaces and a newline after the root's end tag (what ``etree.indent`` then
``tostring`` write); ``compact``, the whole document on one line after the declaration. Stored client
fragments are compact whatever the layout; a pretty document indents them as it streams them, so both
layouts give the bytes that serializing the whole tree would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from lxml import etree

from gateway.registry.text import xml_safe

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPE = "text/xml; charset=UTF-8"

PRETTY, COMPACT = "pretty", "compact"
LAYOUTS = (PRETTY, COMPACT)
INDENT = "  "

#: The layout documents are written in. A context variable rather than a parameter, so that every
#: serializer (``(result, namespace) -> bytes``) follows it without knowing it; the faces set it per answer
#: (:func:`layout`) from GATEWAY_XML_LAYOUT.
_LAYOUT: ContextVar[str] = ContextVar("gateway_xml_layout", default=PRETTY)


@contextmanager
def layout(name: str) -> Iterator[None]:
    """Write the documents built inside in layout ``name`` (``pretty`` or ``compact``)."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown XML layout {name!r} (expected one of {', '.join(LAYOUTS)})")
    token = _LAYOUT.set(name)
    try:
        yield
    finally:
        _LAYOUT.reset(token)


def current_layout() -> str:
    return _LAYOUT.get()


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
    """The whole document in the current layout (pretty: ``root`` is indented in place)."""
    if _LAYOUT.get() == COMPACT:
        return XML_DECLARATION + to_bytes(root)
    etree.indent(root, space=INDENT)
    return XML_DECLARATION + to_bytes(root) + b"\n"


#: "\n" and the indentation of each level, for the pretty layout.
_PADS = tuple(b"\n" + INDENT.encode() * level for level in range(64))


def indent_fragment(fragment: bytes, level: int = 1) -> bytes:
    """A compact fragment (a root's child, as :func:`to_bytes` wrote it) in the pretty layout at ``level``:
    the bytes ``etree.indent(element, level=level)`` then :func:`to_bytes` give, without parsing it again
    (a parse would turn ``<name></name>`` into ``<name/>``).

    As ``etree.indent`` does: an element with children gets a newline and its children's indentation before
    each child, and a newline and its own indentation before its end tag; a leaf keeps its text as it is.
    Our fragments have no mixed content and lxml escapes ``<`` and ``>`` in text and attribute values, so
    every ``<`` starts a tag and the first ``>`` after it ends that tag."""
    out: list[bytes] = []
    parents: list[bool] = []  # for each open element: whether a child was written in it
    depth = level
    for piece in fragment.split(b"<")[1:]:
        if piece[0] == 0x2F:  # "/": an end tag
            depth -= 1
            if parents.pop():
                out.append(_PADS[depth])
            out.append(b"<" + piece)
            continue
        if parents:
            parents[-1] = True
            out.append(_PADS[depth])
        out.append(b"<" + piece)
        if piece[piece.index(b">") - 1] != 0x2F:  # not an empty-element tag: it holds what follows
            parents.append(False)
            depth += 1
    return b"".join(out)


@lru_cache(maxsize=256)
def envelope(root_name: str, namespace: str) -> tuple[bytes, bytes]:
    """The start and end tags of a root element, serialized by lxml, for streaming children."""
    root = Builder(namespace).root(root_name)
    root.text = ""  # forces a start/end pair instead of an empty-element tag
    serialized = to_bytes(root)
    start_end = serialized.rindex(b"</")
    return serialized[:start_end], serialized[start_end:]


@lru_cache(maxsize=256)
def empty_root(root_name: str, namespace: str) -> bytes:
    """A root without children, as lxml writes it: ``<root xmlns="NS"/>``."""
    return to_bytes(Builder(namespace).root(root_name))


def stream(root_name: str, namespace: str, fragments: Iterable[bytes]) -> Iterator[bytes]:
    """A whole document in the current layout: declaration, root start tag, the fragments, root end tag;
    the same bytes as :func:`document` of the tree (a root without children is an empty-element tag).

    The layout is read now, not when the body is iterated (after the view returned). Fragments are joined
    into chunks of about 64 KiB so that a large dump is written in few calls.
    """
    return _stream(root_name, namespace, fragments, _LAYOUT.get() == PRETTY)


def _stream(root_name: str, namespace: str, fragments: Iterable[bytes], pretty: bool) -> Iterator[bytes]:
    start, end = envelope(root_name, namespace)
    newline, before = (b"\n", b"\n" + INDENT.encode()) if pretty else (b"", b"")
    chunk = [XML_DECLARATION, start]
    size = len(start)
    written = False
    for fragment in fragments:
        if pretty:
            fragment = indent_fragment(fragment)
            chunk.append(before)
        chunk.append(fragment)
        written = True
        size += len(fragment)
        if size >= 65536:
            yield b"".join(chunk)
            chunk, size = [], 0
    if not written:  # nothing was yielded yet: the chunk holds the declaration and the start tag only
        yield XML_DECLARATION + empty_root(root_name, namespace) + newline
        return
    chunk += (newline, end, newline) if pretty else (end,)
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
