"""The JSON API page lists every route of the OpenAPI document, generated from the document itself (which
flask-smorest generates from the routes' declarations), so the page cannot drift from the routes."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "json-api.md"
BEGIN, END = "<!-- generated: openapi -->", "<!-- end of generated openapi -->"
METHODS = ("get", "post", "put", "patch", "delete")


def generated(spec: dict) -> str:
    rows = ["| Method and path | What it does | Needs |", "|---|---|---|"]
    for path in sorted(spec["paths"]):
        for method in METHODS:
            operation = spec["paths"][path].get(method)
            if operation is None:
                continue
            needs = _needs(operation) if operation.get("security") else "no token"
            summary = operation.get("summary", "").replace("|", "\\|")
            rows.append(f"| `{method.upper()} {path}` | {summary} | {needs} |")
    return "\n".join(rows)


def _needs(operation: dict) -> str:
    text = " ".join(str(operation.get(k, "")) for k in ("description", "x-permission"))
    for word in ("admin", "feed"):
        if f"{word} permission" in text.lower():
            return f"`{word}`"
    return "a bearer token"


def test_the_json_api_page_lists_every_route_of_the_openapi_document(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    text = PAGE.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    expected = f"{before}{BEGIN}\n{generated(spec)}\n{END}{after}"
    if os.environ.get("UPDATE_GOLDEN"):
        PAGE.write_text(expected, encoding="utf-8")
        text = expected
    assert text == expected, "docs/json-api.md drifted from the OpenAPI document: UPDATE_GOLDEN=1 make test"
