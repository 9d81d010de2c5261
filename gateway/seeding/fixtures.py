"""Fixture files (YAML or JSON) and named fixtures for resetting the registry before a test.

A fixture holds ``appliances`` and ``clients`` in the feed's JSON shapes (see README, "Fixtures");
``gateway clients dump`` writes one that ``gateway clients load`` reads back to the same registry.
A file is validated whole before anything is written; every problem names the file, the line and
the field. Named fixtures are the files of the fixtures directory (by default
``gateway/seeding/named/``, package data) plus generated ones (``empty``, ``demo``, ``thousand``);
each is prepared (ids assigned, XML rendered) once per process, so a reset only deletes and
bulk-inserts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml
from marshmallow import ValidationError

from gateway.errors import GatewayError, NotFoundError
from gateway.registry.documents import appliance_json, client_json
from gateway.registry.model import Appliance, Client
from gateway.registry.operations import problems as client_problems
from gateway.registry.schemas import FixtureSchema
from gateway.registry.service import Population, Registry
from gateway.registry.session_service import Sessions
from gateway.registry.validation import all_problems
from gateway.seeding import demo, site

#: The named fixtures shipped as package data (a regular install keeps them as files, so a Path).
NAMED = Path(str(files("gateway.seeding") / "named"))
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
#: The time generated fixtures are built at (2026-09-21T13:46:40+00:00), so that a reset is the same
#: every time.
REFERENCE_TIME = 1_790_000_000
#: Events per client a dump keeps (the newest); the XML face shows 20.
DUMP_EVENTS = 1000
#: Problems listed before the rest are summarised.
MAX_PROBLEMS = 20
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class FixtureError(GatewayError):
    """A fixture that cannot be loaded; ``problems`` holds one line per problem (file:line: field:
    message)."""

    status = 400
    code = "invalid_fixture"

    def __init__(self, source: str, problems: list[str], field: str = "body"):
        shown = problems[:MAX_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(
            f"{source} cannot be loaded:\n" + "\n".join(shown) + more,
            details={"problems": shown, "field": field},
        )
        self.problems = problems


@dataclass
class Fixture:
    appliances: list[Appliance]
    clients: list[Client]


# ------------------------------------------------------------------------------------------------
# Reading and writing files
# ------------------------------------------------------------------------------------------------
def _line_of(root: yaml.Node | None, path: str) -> int | None:
    """The line of the deepest node of ``path`` (a.0.b) in a composed YAML/JSON document."""
    if root is None:
        return None
    node: yaml.Node | None = root
    line = root.start_mark.line + 1
    for part in path.split("."):
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def parse(text: str, fmt: str, source: str) -> Fixture:
    """Validate a whole fixture document; FixtureError lists every problem with its line."""
    node = None
    try:
        if fmt == "json":
            data = json.loads(text)
        else:
            loader = yaml.SafeLoader(text)
            try:
                node = loader.get_single_node()
                data = loader.construct_document(node) if node is not None else {}
            finally:
                loader.dispose()
    except json.JSONDecodeError as exc:
        raise FixtureError(source, [f"{source}:{exc.lineno}: body: not valid JSON ({exc.msg})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise FixtureError(
            source, [f"{source}:{line}: body: not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from None
    if fmt == "json":
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)  # JSON is YAML: only for line numbers
        except yaml.YAMLError:
            node = None

    found: list[str] = []
    first: list[str] = []

    def at(path: str, message: str) -> str:
        first.append(path)
        line = _line_of(node, path)
        return f"{source}:{line if line is not None else '?'}: {path}: {message}"

    if not isinstance(data, dict):
        raise FixtureError(source, [at("body", "a fixture is a mapping with appliances and clients")])
    try:
        loaded = FixtureSchema().load(data)
    except ValidationError as exc:
        found = [at(path, message) for path, message in all_problems(exc.normalized_messages())]
        raise FixtureError(source, found, first[0]) from None
    appliance_ids = {a.id for a in loaded["appliances"]}
    seen: dict[int, int] = {}
    for index, client in enumerate(loaded["clients"]):
        for problem in client_problems(client):
            found.append(at(f"clients.{index}.{problem.field}", problem.message))
        if client.id and client.id in seen:
            found.append(at(f"clients.{index}.id", f"id {client.id} is also clients.{seen[client.id]}'s"))
        seen.setdefault(client.id, index)
        for position, conn in enumerate(client.connections):
            if appliance_ids and conn.appliance_id not in appliance_ids:
                found.append(
                    at(
                        f"clients.{index}.connections.{position}.appliance_id",
                        f"{conn.appliance_id} is not one of the fixture's appliances",
                    )
                )
    if found:
        raise FixtureError(source, found, first[0])
    for position, appliance in enumerate(loaded["appliances"]):
        appliance.position = position
    return Fixture(loaded["appliances"], loaded["clients"])


def _format(path: Path, fmt: str | None = None) -> str:
    fmt = fmt or SUFFIXES.get(path.suffix.lower())
    if fmt not in ("yaml", "json"):
        raise FixtureError(str(path), [f"{path}: name a .yaml, .yml or .json file (or give the format)"])
    return fmt


def read(path: Path, fmt: str | None = None) -> Fixture:
    fmt = _format(path, fmt)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(str(path), [f"{path}: cannot be read ({exc})"]) from None
    return parse(text, fmt, str(path))


def document(appliances: list[Appliance], clients: list[Client]) -> dict:
    """A fixture document of the registry: appliances, then clients by id with their newest events."""
    return {
        "version": 1,
        "appliances": [appliance_json(a) for a in appliances],
        "clients": [client_json(c, state=False, events=c.events[-DUMP_EVENTS:]) for c in clients],
    }


def dumps(appliances: list[Appliance], clients: list[Client], fmt: str) -> str:
    doc = document(appliances, clients)
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def write(path: Path, appliances: list[Appliance], clients: list[Client], fmt: str | None = None) -> None:
    path.write_text(dumps(appliances, clients, _format(path, fmt)), encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# Named fixtures
# ------------------------------------------------------------------------------------------------
def _demo(size: demo.DemoSize) -> Fixture:
    appliances, clients = demo.build(REFERENCE_TIME, size=size)
    return Fixture(appliances, clients)


GENERATED = {
    "empty": lambda: Fixture([], []),
    "demo": lambda: _demo(demo.DemoSize()),
    "thousand": lambda: _demo(
        demo.DemoSize(representatives=100, support_customers=820, presentation_attendees=50, push_agents=30)
    ),
}


def directory(configured: str = "") -> Path:
    return Path(configured) if configured else NAMED


def names(configured: str = "") -> list[str]:
    folder = directory(configured)
    files = {p.stem for p in folder.iterdir() if p.suffix.lower() in SUFFIXES} if folder.is_dir() else set()
    return sorted(set(GENERATED) | {n for n in files if _NAME.fullmatch(n)})


def _file(name: str, configured: str) -> Path | None:
    for suffix in SUFFIXES:
        path = directory(configured) / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


_prepared: dict[tuple, Population] = {}


def prepared(registry: Registry, name: str, configured: str = "") -> Population:
    """The named fixture ready to load (cached per process; a changed file is read again)."""
    path = _file(name, configured) if _NAME.fullmatch(name or "") else None
    if path is None and name not in GENERATED:
        raise NotFoundError(
            f"No fixture named {name[:64]!r}; known: {', '.join(names(configured))}.",
            details={"field": "fixture"},
        )
    key = (name, str(path), path.stat().st_mtime_ns if path else None)
    population = _prepared.get(key)
    if population is None:
        fixture = read(path) if path else GENERATED[name]()
        population = _prepared[key] = registry.prepare(fixture.appliances, fixture.clients)
    return population


def reset(
    registry: Registry,
    name: str = "empty",
    *,
    drop_accounts: bool = False,
    configured: str = "",
    sessions: Sessions | None = None,
) -> dict:
    """Clear the registry (and the accounts with ``drop_accounts``) and load a named fixture, in one
    transaction; with ``sessions``, the site configuration that goes with it (gateway.seeding.site)."""
    population = prepared(registry, name, configured)
    registry.reset(population, drop_accounts=drop_accounts, note={"fixture": name})
    if sessions is not None:
        sessions.configure_site(*site.site_for(population.clients))
        sessions.seed(site.sessions_for(population.clients))
    return {
        "fixture": name,
        "appliances": len(population.appliances),
        "clients": len(population.clients),
        "accounts": "dropped" if drop_accounts else "kept",
    }
