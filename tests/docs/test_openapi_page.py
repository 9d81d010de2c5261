"""The JSON API page lists every route of the OpenAPI document, generated from the document itself (which
flask-smorest generates from the routes' declarations), so the page cannot drift from the routes."""

from __future__ import annotations

from pathlib import Path

from tests.docs.generated import check_section

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "json-api.md"
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
    check_section(PAGE, "openapi", generated(client.get("/api/v1/openapi.json").get_json()))
