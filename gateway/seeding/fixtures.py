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

import contextlib
import io
import json
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import IO, Any, NoReturn, cast

import yaml
from marshmallow import ValidationError
from yaml.composer import Composer

from gateway.errors import GatewayError, NotFoundError
from gateway.registry.documents import appliance_json, client_json
from gateway.registry.model import Appliance, Client
from gateway.registry.operations import problems as client_problems
from gateway.registry.schemas import ClientField, FixtureSchema
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
# Reading files: streamed, one client at a time
# ------------------------------------------------------------------------------------------------
#: Clients completed, rendered and written together when a file is loaded (memory holds about one batch).
BATCH = 500
#: libyaml's parser where PyYAML was built with it (much faster); PyYAML's own otherwise.
_YAML_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlEvents(_YAML_BASE, Composer):
    """A YAML document read event by event, so that each client is composed (nodes: lines for messages) and
    constructed on its own and the document is never held whole. libyaml's parser gives the events;
    PyYAML's composer and safe constructor build one value at a time."""

    def __init__(self, stream: IO[bytes] | str):
        _YAML_BASE.__init__(self, stream)  # the loader's own: Composer's would take no stream
        self.anchors: dict[str, yaml.Node] = {}

    def node(self) -> yaml.Node:
        return cast(yaml.Node, self.compose_node(None, None))  # type: ignore[arg-type]

    def value(self, node: yaml.Node) -> Any:
        return self.construct_document(node)


def _line_of(root: yaml.Node | None, path: str) -> int | None:
    """The line of the deepest node of ``path`` (a.0.b) in a composed YAML/JSON document."""
    if root is None:
        return None
    node: yaml.Node | None = root
    line = root.start_mark.line + 1
    for part in path.split(".") if path else ():
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


class _Counted:
    """A binary file that reports how many bytes were read (the progress of a load)."""

    def __init__(self, raw: IO[bytes], advance: Callable[[int], None]):
        self.raw, self.advance = raw, advance

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.advance(len(data))
        return data


class _Validator:
    """Checks a fixture part by part as it is read: the top-level keys, then each client (its schema,
    its rules, a unique id, connections to the fixture's appliances). Problems are kept with their
    line; ``lines`` finds the lines of problems found without nodes (JSON, read by the json module)."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[tuple[str, str, int | None]] = []
        self.appliance_ids: set[str] = set()
        self.ids: dict[int, int] = {}

    def add(self, path: str, message: str, node: yaml.Node | None = None, within: str = "") -> None:
        line = _line_of(node, path[len(within) + 1 :] if within else path) if node is not None else None
        self.problems.append((path, message, line))

    def top(self, data: dict[str, Any], node_of: Callable[[str], yaml.Node | None]) -> list[Appliance]:
        try:
            loaded = FixtureSchema().load(data)
        except ValidationError as exc:
            for path, message in all_problems(exc.normalized_messages()):
                head = path.split(".", 1)[0]
                self.add(path, message, node_of(head), within=head if node_of(head) is not None else "")
            return []
        appliances: list[Appliance] = loaded["appliances"]
        for position, appliance in enumerate(appliances):
            appliance.position = position
        self.appliance_ids = {a.id for a in appliances}
        return appliances

    def client(self, index: int, data: Any, node: yaml.Node | None) -> Client | None:
        where = f"clients.{index}"
        try:
            client = ClientField().deserialize(data)
        except ValidationError as exc:
            for path, message in all_problems(exc.normalized_messages(), where):
                self.add(path, message, node, within=where)
            return None
        before = len(self.problems)
        for problem in client_problems(client):
            self.add(f"{where}.{problem.field}", problem.message, node, within=where)
        if client.id and client.id in self.ids:
            self.add(
                f"{where}.id", f"id {client.id} is also clients.{self.ids[client.id]}'s", node, within=where
            )
        self.ids.setdefault(client.id, index)
        for position, conn in enumerate(client.connections):
            if self.appliance_ids and conn.appliance_id not in self.appliance_ids:
                self.add(
                    f"{where}.connections.{position}.appliance_id",
                    f"{conn.appliance_id} is not one of the fixture's appliances",
                    node,
                    within=where,
                )
        return client if len(self.problems) == before else None

    def check(self, lines: Callable[[], yaml.Node | None] | None = None) -> None:
        """Raise FixtureError with every problem (``lines``: the composed document, to find missing lines)."""
        if not self.problems:
            return
        root = lines() if lines and any(line is None for _, _, line in self.problems) else None
        raise FixtureError(
            self.source,
            [
                f"{self.source}:{_or(line, _line_of(root, path))}: {path}: {message}"
                for path, message, line in self.problems
            ],
            self.problems[0][0],
        )


def _or(line: int | None, found: int | None) -> int | str:
    return line if line is not None else found if found is not None else "?"


class FixtureStream:
    """A fixture file read as a stream: :meth:`appliances` first, then :meth:`clients` in batches, each
    client validated as it comes; the last batch is followed by FixtureError if any part had a problem (a
    caller writing inside one transaction thus writes nothing). Clients without an id come last, with ids
    after the largest given, in order (as Registry.prepare assigns them)."""

    def __init__(
        self, stream: IO[bytes] | str, fmt: str, source: str, reread: Callable[[], str] | None = None
    ):
        self.fmt, self.source = fmt, source
        self.check = _Validator(source)
        self._reread = reread
        self._appliances: list[Appliance] | None = None
        self._items: Iterator[tuple[int, Any, yaml.Node | None]] = iter(())
        if fmt == "json":
            self._json(stream)
        else:
            self._yaml(stream)

    # --- the two formats -----------------------------------------------------------------------------
    def _json(self, stream: IO[bytes] | str) -> None:
        try:
            data = json.loads(stream) if isinstance(stream, str) else json.load(stream)
        except json.JSONDecodeError as exc:
            raise FixtureError(
                self.source, [f"{self.source}:{exc.lineno}: body: not valid JSON ({exc.msg})"]
            ) from None
        except UnicodeDecodeError as exc:
            raise FixtureError(self.source, [f"{self.source}: body: not UTF-8 ({exc.reason})"]) from None
        if not isinstance(data, dict):
            self.check.add("body", "a fixture is a mapping with appliances and clients")
            self.check.check(self._json_nodes)
        clients = data.pop("clients", [])
        self._appliances = self.check.top(data, lambda _key: None)
        if isinstance(clients, list):
            self._items = ((i, c, None) for i, c in enumerate(clients))
            clients_list = clients

            def release() -> Iterator[tuple[int, Any, yaml.Node | None]]:
                for i in range(len(clients_list)):  # drop each client's data once it is read
                    item, clients_list[i] = clients_list[i], None
                    yield i, item, None

            self._items = release()
        else:
            self.check.add("clients", "Not a valid list.")

    def _json_nodes(self) -> yaml.Node | None:
        """The composed JSON document (JSON is YAML), only to find the lines of its problems."""
        if self._reread is None:
            return None
        try:
            return yaml.compose(self._reread(), Loader=_YAML_BASE)
        except yaml.YAMLError:
            return None

    def _yaml(self, stream: IO[bytes] | str) -> None:
        events = _YamlEvents(stream)
        try:
            events.get_event()  # stream start
            if events.check_event(yaml.StreamEndEvent):
                self._appliances = []
                return
            events.get_event()  # document start
            if not events.check_event(yaml.MappingStartEvent):
                node = events.node()
                self.check.add("body", "a fixture is a mapping with appliances and clients", node)
                self.check.check()
            events.get_event()
            top: dict[str, Any] = {}
            nodes: dict[str, yaml.Node] = {}
            while not events.check_event(yaml.MappingEndEvent):
                key = events.value(events.node())
                if key == "clients" and events.check_event(yaml.SequenceStartEvent):
                    if "appliances" in top:
                        self._appliances = self.check.top(top, nodes.get)
                        self._items = self._yaml_clients(events, top, nodes)
                        return
                    # The clients come first: read on (holding them) to learn the appliances.
                    node = events.node()
                    top[key], nodes[key] = None, node
                    continue
                node = events.node()
                nodes[str(key)] = node
                top[str(key)] = events.value(node)
            held = nodes.pop("clients", None)
            top.pop("clients", None)
            self._appliances = self.check.top(top, nodes.get)
            if isinstance(held, yaml.SequenceNode):
                self._items = ((i, events.value(n), n) for i, n in enumerate(held.value))
            elif held is not None:
                self.check.add("clients", "Not a valid list.", held, within="clients")
        except yaml.YAMLError as exc:
            self._syntax(exc)

    def _yaml_clients(
        self, events: _YamlEvents, top: dict[str, Any], nodes: dict[str, yaml.Node]
    ) -> Iterator[tuple[int, Any, yaml.Node | None]]:
        try:
            events.get_event()  # sequence start
            index = 0
            while not events.check_event(yaml.SequenceEndEvent):
                node = events.node()
                yield index, events.value(node), node
                index += 1
            events.get_event()
            rest: dict[str, Any] = {}
            while not events.check_event(yaml.MappingEndEvent):
                key = events.value(events.node())
                node = events.node()
                nodes[str(key)] = node
                rest[str(key)] = events.value(node)
            if rest:  # keys after the clients: checked with the top (an unknown key, a second appliances)
                self.check.top({**top, **rest}, nodes.get)
        except yaml.YAMLError as exc:
            self._syntax(exc)

    def _syntax(self, exc: yaml.YAMLError) -> NoReturn:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise FixtureError(
            self.source, [f"{self.source}:{line}: body: not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from None

    # --- what a loader reads -------------------------------------------------------------------------
    def appliances(self) -> list[Appliance]:
        return self._appliances or []

    def clients(self, batch: int = BATCH) -> Iterator[list[Client]]:
        """The valid clients in batches; nothing more is yielded once a problem is found (the rest is
        still checked), and FixtureError follows the last batch when there was one."""
        pending: list[Client] = []
        without_id: list[Client] = []
        for index, data, node in self._items:
            client = self.check.client(index, data, node)
            if client is None or self.check.problems:
                continue
            (pending if client.id else without_id).append(client)
            if len(pending) >= batch:
                yield pending
                pending = []
        self.check.check(self._json_nodes if self.fmt == "json" else None)
        _assign_ids(without_id, self.check.ids)
        pending += without_id
        for start in range(0, len(pending), batch):
            yield pending[start : start + batch]


def stream(
    path: Path, fmt: str | None = None, advance: Callable[[int], None] | None = None
) -> contextlib.AbstractContextManager[FixtureStream]:
    """Open a fixture file for streaming (a context: the file stays open while its clients are read);
    ``advance`` is told the bytes read as the file is read."""
    return _opened(path, format_of(path, fmt), advance)


@contextlib.contextmanager
def _opened(path: Path, fmt: str, advance: Callable[[int], None] | None) -> Iterator[FixtureStream]:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise FixtureError(str(path), [f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    with raw:
        handle: Any = _Counted(raw, advance) if advance else raw
        try:
            yield FixtureStream(handle, fmt, str(path), reread=lambda: path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise FixtureError(str(path), [f"{path}: cannot be read ({exc})"]) from None
        except OSError as exc:
            raise FixtureError(str(path), [f"{path}: cannot be read ({exc.strerror or exc})"]) from None


def parse(text: str, fmt: str, source: str) -> Fixture:
    """Validate a whole fixture document; FixtureError lists every problem with its line."""
    return _collect(FixtureStream(text, fmt, source, reread=lambda: text))


def _collect(reader: FixtureStream) -> Fixture:
    """Every client of a fixture, in the document's order (ids left out stay 0: a merge takes free ones,
    Registry.prepare assigns the rest)."""
    clients: list[Client] = []
    for index, data, node in reader._items:
        client = reader.check.client(index, data, node)
        if client is not None:
            clients.append(client)
    reader.check.check(reader._json_nodes if reader.fmt == "json" else None)
    return Fixture(reader.appliances(), clients)


def _assign_ids(without_id: list[Client], given: dict[int, int]) -> None:
    """Ids after the largest given, in order (as Registry.prepare assigns them)."""
    next_id = max(given, default=0)
    for client in without_id:
        next_id += 1
        client.id = next_id


def format_of(path: Path, fmt: str | None = None) -> str:
    """The format given, else the one the file name says (FixtureError for neither)."""
    fmt = fmt or SUFFIXES.get(path.suffix.lower())
    if fmt not in ("yaml", "json"):
        raise FixtureError(str(path), [f"{path}: name a .yaml, .yml or .json file (or give the format)"])
    return fmt


def read(path: Path, fmt: str | None = None) -> Fixture:
    with stream(path, fmt) as reader:
        return _collect(reader)


def load(
    registry: Registry, path: Path, fmt: str | None = None, *, advance: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Replace the registry with a fixture file read as a stream and written in batches, in one transaction
    (a problem anywhere in the file changes nothing; every problem is listed). ``advance`` is told the
    bytes read. Returns (appliances, clients) loaded."""
    with stream(path, fmt, advance) as reader:
        appliances = reader.appliances()
        count = registry.load(appliances, reader.clients(), note={"source": str(path)})
    return len(appliances), count


def document(appliances: list[Appliance], clients: list[Client]) -> dict:
    """A fixture document of the registry: appliances, then clients by id with their newest events."""
    return {
        "version": 1,
        "appliances": [appliance_json(a) for a in appliances],
        "clients": [client_json(c, state=False, events=c.events[-DUMP_EVENTS:]) for c in clients],
    }


#: libyaml's emitter where PyYAML was built with it; PyYAML's own otherwise (the same text).
_YAML_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _yaml(value: object) -> str:
    return yaml.dump(value, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True, width=120)


def _json(value: object, indent: str) -> str:
    return textwrap.indent(json.dumps(value, indent=2, ensure_ascii=False), indent)[len(indent) :]


def write_stream(
    out: IO[str], appliances: list[Appliance], batches: Iterable[list[Client]], fmt: str
) -> Iterator[int]:
    """Write a fixture document batch by batch (what :func:`dumps` gives, without holding it whole);
    yields the number of clients of each batch once it is written."""
    head = document(appliances, [])
    if fmt == "json":
        out.write(
            '{\n  "version": 1,\n  "appliances": ' + _json(head["appliances"], "  ") + ',\n  "clients": ['
        )
        first = True
        for batch in batches:
            for client in document([], batch)["clients"]:
                out.write(("\n    " if first else ",\n    ") + _json(client, "    "))
                first = False
            yield len(batch)
        out.write("]\n}\n" if first else "\n  ]\n}\n")
        return
    del head["clients"]
    out.write(_yaml(head))
    empty = True
    for batch in batches:
        if batch:
            out.write(("clients:\n" if empty else "") + _yaml(document([], batch)["clients"]))
            empty = False
        yield len(batch)
    if empty:
        out.write("clients: []\n")


def dumps(appliances: list[Appliance], clients: list[Client], fmt: str) -> str:
    out = io.StringIO()
    for _ in write_stream(out, appliances, [clients], fmt):
        pass
    return out.getvalue()


def write(path: Path, appliances: list[Appliance], clients: list[Client], fmt: str | None = None) -> None:
    with path.open("w", encoding="utf-8") as out:
        for _ in write_stream(out, appliances, [clients], format_of(path, fmt)):
            pass


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
        site.install(sessions, population.clients)
    return {
        "fixture": name,
        "appliances": len(population.appliances),
        "clients": len(population.clients),
        "accounts": "dropped" if drop_accounts else "kept",
    }
