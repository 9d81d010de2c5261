"""Helpers for reading command-API XML in tests."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

GOLDEN = Path(__file__).parent / "golden"


def parse(body: bytes) -> etree._Element:
    return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))


def local(element) -> str:
    return etree.QName(element).localname


def children(element) -> list[str]:
    return [local(child) for child in element]


def canonical(body: bytes) -> bytes:
    return etree.tostring(parse(body), method="c14n2")


def assert_golden(name: str, body: bytes) -> None:
    """Compare with tests/golden/NAME after C14N 2.0 (what differs), then byte for byte (the layout: line
    breaks and indentation are what line-oriented clients read); UPDATE_GOLDEN=1 rewrites the file.
    tests/golden/ holds the default (pretty) layout, tests/golden/compact/ the compact one."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(body)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 once and review it"
    assert canonical(body) == canonical(path.read_bytes()), f"{name} differs from its golden file"
    assert body == path.read_bytes(), f"{name} has the content of its golden file but not its bytes (layout)"
