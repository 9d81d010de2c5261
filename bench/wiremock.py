"""WireMock, the stub server a test engineer would otherwise run in place of an appliance, serving the
gateway's own answers as static stubs (the baseline of the "vs WireMock" rows of ``make bench``).

The npm package ``wiremock`` bundles the standalone jar; Debian's JRE runs it. Install it once, outside the
checkout:

    npm install --prefix ~/.cache/gateway-bench wiremock      # and: apt-get install default-jre-headless

``BENCH_WIREMOCK_JAR`` names another jar. Without java or the jar, :func:`missing` says how to install
them and the bench skips the WireMock rows, saying so in its output and in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from gateway.testing.servers import free_port

#: Where ``npm install --prefix`` puts the package: BENCH_CACHE (make bench sets it; by default
#: ~/.cache/gateway-bench), or bench/.wiremock (ignored by git).
SEARCHED = tuple(
    Path(folder) / "node_modules" / "wiremock" / "build"
    for folder in (
        os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "gateway-bench",
        Path(__file__).resolve().parent / ".wiremock",
    )
)
HOW = (
    "npm install --prefix ~/.cache/gateway-bench wiremock (the package bundles the standalone jar) and a JRE "
    "(apt-get install default-jre-headless); or set BENCH_WIREMOCK_JAR"
)


def jar() -> Path | None:
    named = os.environ.get("BENCH_WIREMOCK_JAR")
    if named:
        return Path(named) if Path(named).is_file() else None
    for folder in SEARCHED:
        found = sorted(folder.glob("wiremock-standalone-*.jar")) if folder.is_dir() else []
        if found:
            return found[-1]
    return None


def missing() -> str | None:
    """Why WireMock cannot run here (and how to fix it), or None when it can."""
    if not shutil.which("java"):
        return f"java is not installed; {HOW}"
    if jar() is None:
        return f"the WireMock jar is not installed; {HOW}"
    return None


@dataclass
class Stub:
    """One static answer: the query parameters it matches exactly (None: must be absent), and its body."""

    name: str
    query: dict[str, str | None]
    body: bytes
    content_type: str = "text/xml; charset=UTF-8"


def mapping(stub: Stub, authorization: str) -> dict:
    return {
        "name": stub.name,
        "request": {
            "method": "GET",
            "urlPath": "/api/command",
            "queryParameters": {
                key: ({"absent": True} if value is None else {"equalTo": value})
                for key, value in stub.query.items()
            },
            "headers": {"Authorization": {"equalTo": authorization}},
        },
        "response": {
            "status": 200,
            "headers": {"Content-Type": stub.content_type},
            "bodyFileName": f"{stub.name}.xml",
        },
    }


class WireMock:
    """A WireMock standalone process serving ``stubs`` to requests bearing ``authorization``; its request
    journal off (``--no-request-journal``), as a load test runs it."""

    def __init__(self, root: Path, stubs: list[Stub], authorization: str, log: Path):
        (root / "mappings").mkdir(parents=True, exist_ok=True)
        (root / "__files").mkdir(exist_ok=True)
        for stub in stubs:
            (root / "__files" / f"{stub.name}.xml").write_bytes(stub.body)
            (root / "mappings" / f"{stub.name}.json").write_text(json.dumps(mapping(stub, authorization)))
        found = jar()
        if found is None or not shutil.which("java"):
            raise RuntimeError(missing())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(log, "ab") as handle:
            self.process = subprocess.Popen(
                [
                    "java",
                    "-jar",
                    str(found),
                    "--port",
                    str(self.port),
                    "--bind-address",
                    "127.0.0.1",
                    "--root-dir",
                    str(root),
                    "--no-request-journal",
                    "--disable-banner",
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"WireMock exited with {self.process.returncode}: {log.read_text()[-2000:]}"
                )
            try:
                if requests.get(f"{self.url}/__admin/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"WireMock did not answer within 60 s: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
