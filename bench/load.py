"""Driving HTTP load: wrk (from Debian's packages) and its figures, and the feed batches of the write
figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import requests

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * UNITS[unit]


def wrk(
    url: str,
    *,
    seconds: int = 8,
    threads: int = 2,
    connections: int = 8,
    headers: dict | None = None,
    script: str | None = None,
) -> LoadResult:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed for the HTTP benchmarks: apt-get install wrk")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return LoadResult(rps, p50, p99, errors, total)


def events_batch(client_ids: list[int], per_client: int, tag: str) -> dict:
    """One feed batch: ``per_client`` events appended to each client (one operation per client)."""
    return {
        "operations": [
            {
                "op": "events",
                "id": cid,
                "events": [
                    {"text": f"{tag} event {n} failed to connect to node2", "kind": "failure"}
                    for n in range(per_client)
                ],
            }
            for cid in client_ids
        ]
    }


@dataclass
class Churn:
    appended: int = 0
    first: float = 0.0  # time.monotonic() of the first send and of the last commit: the rate's window
    last: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.appended / max(self.last - self.first, 1e-9)


def churn(base: str, headers: dict, count: int, rate: int, deadline: float) -> Churn:
    """Append at least ``rate`` events/s through POST /api/v1/batch until ``deadline`` (time.monotonic()).

    Run in a process of its own: threads of the process that reads and validates the dumps would hold the GIL
    and make this writer, not the gateway, fall behind. Each batch carries what the schedule will owe when it
    commits (the time until now plus the previous batch's latency) and a quarter of a second ahead, so the
    rate up to the last commit is not short by the batch still being gathered (10 clients, 5+ events
    each)."""
    done, session, n, latency = Churn(), requests.Session(), 0, 0.0
    done.first = done.last = time.monotonic()
    while time.monotonic() < deadline:
        owed = int(rate * (time.monotonic() + latency + 0.25 - done.first)) - done.appended
        if owed < 50:
            time.sleep((50 - owed) / rate)
            continue
        per_client = min(owed // 10, 500)
        start = (n * 10) % (count - 10) + 1
        sent = time.monotonic()
        response = session.post(
            f"{base}/api/v1/batch",
            json=events_batch(list(range(start, start + 10)), per_client, f"c{n}"),
            headers=headers,
            timeout=30,
        )
        latency = time.monotonic() - sent
        if response.status_code != 200:
            done.problems.append(f"feed write {response.status_code}")
        done.appended += per_client * 10
        n += 1
        done.last = time.monotonic()
    return done
