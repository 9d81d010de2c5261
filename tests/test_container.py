"""The container recipe, checked without a Docker daemon: the Dockerfile's and compose.yaml's commands are
commands `gateway serve` accepts, the image runs as a non-root user with var/ as a volume and a health check
on /readyz, and compose runs two nodes on one PostgreSQL database. (tests/e2e/test_installed_wheel.py runs
the Dockerfile's CMD and HEALTHCHECK from an installed wheel.)"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from gateway.cli.serve import serve

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def last(keyword: str) -> str:
    values = [rest for key, rest in instructions() if key == keyword]
    assert values, f"the Dockerfile has no {keyword}"
    return values[-1]


def parsed_serve(command: list[str]) -> dict:
    """The options `gateway serve` takes from ``command`` (click refuses unknown ones)."""
    assert command[:2] == ["gateway", "serve"], command
    return serve.make_context("serve", command[2:]).params


def test_the_image_runs_gateway_serve_on_every_interface():
    params = parsed_serve(json.loads(last("CMD")))
    host, port = params["bind"].rsplit(":", 1)
    assert host == "0.0.0.0" and last("EXPOSE") == port


def test_the_image_is_slim_non_root_with_var_as_a_volume():
    bases = [rest.split()[0] for key, rest in instructions() if key == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.1[1-9]-slim", base) for base in bases), bases
    keys = [key for key, _ in instructions()]
    user = last("USER")
    assert user not in ("root", "0") and keys.index("USER") < keys.index("CMD")
    workdir = last("WORKDIR")
    assert json.loads(last("VOLUME")) == [f"{workdir}/var"], "the database and credentials live in var/"
    for source in (rest.split()[0] for key, rest in instructions() if key == "COPY" and "--from" not in rest):
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the checkout"


def test_the_health_check_asks_readyz_on_the_served_port():
    options, _, command = last("HEALTHCHECK").partition(" CMD ")
    assert re.search(r"--interval=\d+s", options) and re.search(r"--start-period=\d+s", options)
    argv = json.loads(command)
    assert argv[0] == "python" and f"127.0.0.1:{last('EXPOSE')}/readyz" in argv[-1]
    compile(argv[-1], "HEALTHCHECK", "exec")


def test_compose_runs_two_gateway_nodes_on_one_postgresql():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    nodes = {name: s for name, s in services.items() if s.get("image") == "connected-clients-gateway"}
    assert len(nodes) == 2 and sum("build" in s for s in nodes.values()) == 1, "one builds, both run it"
    published = []
    for node in nodes.values():
        command = node.get("command") or json.loads(last("CMD"))
        if isinstance(command, str):
            command = shlex.split(command)
        assert parsed_serve(command)["bind"] == "0.0.0.0:8080"
        url = urlsplit(node["environment"]["GATEWAY_DATABASE_URL"])
        assert url.scheme == "postgresql" and url.hostname == "postgres"
        published += [port.split(":")[-2] for port in node["ports"]]
        assert node["depends_on"], "a node starts once what it needs is healthy"
    assert len(set(published)) == 2
    waits = [dep for s in nodes.values() for dep, cond in s["depends_on"].items()]
    assert "postgres" in waits and any(dep in nodes for dep in waits), "the second node waits for the first"
    assert all(
        cond["condition"] == "service_healthy" for s in nodes.values() for cond in s["depends_on"].values()
    )
