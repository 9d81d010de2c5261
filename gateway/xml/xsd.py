"""The command XSD, retargeted to the configured namespace, compiled once per namespace and cached."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from lxml import etree

from gateway.xml.document import XML_DECLARATION

XS = "http://www.w3.org/2001/XMLSchema"
#: Package data: installed with the package, found wherever it is installed.
SCHEMA_PATH = files("gateway.xml") / "command.xsd"


@lru_cache(maxsize=8)
def schema_document(namespace: str) -> bytes:
    """The XSD with its target and default namespace set to ``namespace``."""
    original = etree.fromstring(
        SCHEMA_PATH.read_bytes(), etree.XMLParser(remove_blank_text=False, resolve_entities=False)
    ).getroottree()
    source = original.getroot()
    root = etree.Element(source.tag, nsmap={"xs": XS, None: namespace})
    for name, value in source.attrib.items():
        root.set(name, namespace if name == "targetNamespace" else value)
    root.text = source.text
    for child in source:
        root.append(child)
    # Comments before the root element are documentation worth keeping.
    out = etree.ElementTree(root)
    for comment in reversed(list(original.getroot().itersiblings(preceding=True))):
        root.addprevious(comment)
    return XML_DECLARATION + etree.tostring(out, encoding="UTF-8", xml_declaration=False)


@lru_cache(maxsize=8)
def schema(namespace: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(schema_document(namespace)))


class SchemaViolation(AssertionError):
    pass


def validate(body: bytes, namespace: str) -> etree._Element:
    """Parse and validate a response body; raise SchemaViolation with lxml's log on failure."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(body, parser)
    checker = schema(namespace)
    if not checker.validate(root):
        raise SchemaViolation(f"response does not match the command XSD: {checker.error_log}")
    return root
