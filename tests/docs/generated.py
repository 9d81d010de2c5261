"""Sections of a docs page that are generated from the code (between ``<!-- generated: NAME -->`` and
``<!-- end of generated NAME -->``): a test compares them with what the code says now, and
``UPDATE_GOLDEN=1 make test`` rewrites them."""

from __future__ import annotations

import os
from pathlib import Path


def check_section(page: Path, name: str, content: str) -> None:
    """Fail when the section ``name`` of ``page`` is not ``content`` (or rewrite it with UPDATE_GOLDEN)."""
    begin, end = f"<!-- generated: {name} -->", f"<!-- end of generated {name} -->"
    text = page.read_text(encoding="utf-8")
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    expected = f"{before}{begin}\n{content}\n{end}{after}"
    if os.environ.get("UPDATE_GOLDEN"):
        page.write_text(expected, encoding="utf-8")
        text = expected
    assert text == expected, f"{page.name} drifted from the code ({name}): UPDATE_GOLDEN=1 make test"
