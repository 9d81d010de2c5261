"""``make bench``: every figure beside its baseline, measured in the same run; writes docs/benchmarks.md.

python -m bench [--clients 10000] [--big 100000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import multiprocessing
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import baselines, population
from bench.load import churn, events_batch, wrk
from gateway.config import NAMESPACE_PRESETS, settings
from gateway.services import Services, build_services
from gateway.storage.migrate import upgrade
from gateway.testing.servers import GunicornServer, start_gunicorn

NAMESPACE = NAMESPACE_PRESETS["beyondtrust"]
#: The checkout: gunicorn runs in it (bench.fixed_app is the baseline), docs/benchmarks.md has the figures.
ROOT = Path(__file__).resolve().parents[1]

#: How the gateway is run for load figures: the request journal off, as for any load test (GATEWAY_JOURNAL,
#: issue 7), and no per-request log line, as the baseline app and gunicorn (no access log) write none either.
SERVING_ENV = {"GATEWAY_JOURNAL": "false", "GATEWAY_REQUEST_LOG": "false"}


@dataclass
class Row:
    name: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name, ours, baseline, ratio, target, ok):
        row = Row(name, ours, baseline, ratio, target, ok)
        self.rows.append(row)
        mark = "-" if ok is None else ("PASS" if ok else "MISS")
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        print(f"  {name:<52} {ours:>22} {baseline:>22} {ratio_text:>8}  {target:<14} {mark}", flush=True)


def start(env_overrides: dict, log: Path, **options) -> GunicornServer:
    return start_gunicorn(env_overrides, log, cwd=ROOT, **options)


def services(url: str) -> Services:
    """The gateway's components on the database at ``url``, as a server with the same settings has them."""
    return build_services(settings({"DATABASE_URL": url}))


def prepare(path: Path, clients) -> tuple[str, str, str]:
    url = f"sqlite:///{path}"
    return (url, *prepare_url(url, clients))


def prepare_url(url: str, clients) -> tuple[str, str]:
    """Migrate the database, load the clients, make a read_only account: (client id, secret)."""
    svc = services(url)
    upgrade(svc.store)
    svc.registry.replace_population(population.APPLIANCES, clients)
    creds = svc.accounts.create("bench", "read_only")
    svc.store.close()
    return creds.account.client_id, creds.client_secret


def clone_clients(path: Path, factor: int) -> int:
    """Grow the registry by copying its rows with shifted ids (fast, for the memory figure)."""
    db = sqlite3.connect(path)
    base = db.execute("SELECT max(id) FROM clients").fetchone()[0]
    columns = [r[1] for r in db.execute("PRAGMA table_info(clients)") if r[1] != "key"]
    for k in range(1, factor):
        offset = base * k
        select = []
        for c in columns:
            if c == "id":
                select.append(f"id + {offset}")
            elif c in ("xml_brief", "xml_full"):
                select.append(
                    f"CAST(replace(CAST({c} AS TEXT), 'id=\"' || id || '\"', "
                    f"'id=\"' || (id + {offset}) || '\"') AS BLOB)"
                )
            else:
                select.append(c)
        db.execute(
            f"INSERT INTO clients ({', '.join(columns)}) "
            f"SELECT {', '.join(select)} FROM clients WHERE id <= {base}"
        )
    db.commit()
    total = db.execute("SELECT count(*) FROM clients").fetchone()[0]
    db.close()
    return total


def token(base: str, client_id: str, secret: str) -> str:
    return requests.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    ).json()["access_token"]


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Interleaved:
    """Pairs of measurements (ours, baseline) taken one right after the other."""

    pairs: list[tuple]

    def ratios(self, figure) -> list[float]:
        return sorted(figure(ours) / figure(base) for ours, base in self.pairs)

    def median(self, figure) -> float:
        values = self.ratios(figure)
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    def median_pair(self, figure) -> tuple:
        """The pair whose ratio is the (upper) median: both of its figures come from the same moment."""
        return sorted(self.pairs, key=lambda pair: figure(pair[0]) / figure(pair[1]))[len(self.pairs) // 2]

    def spread(self, figure) -> str:
        values = self.ratios(figure)
        return f"{values[0]:.2f}-{values[-1]:.2f}x over {len(values)} pairs"


def interleaved(pairs: int, measure_ours, measure_base) -> Interleaved:
    """Run the two measurements alternately ``pairs`` times: the machine is shared and its speed comes and
    goes from one second to the next, so many short pairs and their median ratio give a steadier figure
    than a few long runs."""
    results = []
    for _ in range(pairs):
        base = measure_base()
        ours = measure_ours()
        results.append((ours, base))
    return Interleaved(results)


def bench_reads(report: Report, work: Path, count: int, seconds: int, pairs: int = 9) -> None:
    clients = population.build(count)
    started = time.perf_counter()
    url, client_id, secret = prepare(work / "reads.db", clients)
    report.notes.append(
        f"Loading {count:,} clients through the registry took {time.perf_counter() - started:.1f} s."
    )

    # A partial binds the population here (a lambda would refer to `clients`, which is deleted below).
    base_rate, _size = baselines.docs_per_second(
        functools.partial(baselines.serialize_xmlfile, clients, NAMESPACE), seconds
    )
    del clients

    server = start(dict(SERVING_ENV, GATEWAY_DATABASE_URL=url), work / "ours.log", workers=2)
    fixed = start({}, work / "fixed.log", workers=2, app="bench.fixed_app:app", ready_path="/api/command")
    try:
        auth = {"Authorization": f"Bearer {token(server.url, client_id, secret)}"}
        dump = requests.get(
            f"{server.url}/api/command",
            params={"action": "get_connected_clients", "include_connections": 1},
            headers=auth,
            timeout=120,
        )
        assert dump.status_code == 200 and dump.content.count(b"<client_connections>") == count
        full = wrk(
            f"{server.url}/api/command?action=get_connected_clients&include_connections=1",
            seconds=seconds,
            connections=2,
            headers=auth,
        )
        report.add(
            f"full dump, {count:,} clients ({len(dump.content) / 1e6:.1f} MB), docs/s",
            f"{full.requests_per_second:.2f}",
            f"{base_rate:.2f} (xmlfile)",
            full.requests_per_second / base_rate,
            ">= 1.5x",
            full.requests_per_second >= 1.5 * base_rate and full.errors == 0,
        )
        script = (
            "math.randomseed(7)\nrequest = function()\n  return wrk.format(nil, "
            f'"/api/command?action=get_connected_clients&id=" .. math.random(1, {count}))\nend\n'
        )
        # Both servers get the same requests from the same script (the fixed app ignores the query string and
        # the token), so the load generator, which shares the machine, costs the same on either side.
        slice_seconds = max(2, seconds // 2)
        rounds = interleaved(
            pairs,
            lambda: wrk(
                f"{server.url}/api/command", seconds=slice_seconds, connections=8, headers=auth, script=script
            ),
            lambda: wrk(
                f"{fixed.url}/api/command", seconds=slice_seconds, connections=8, headers=auth, script=script
            ),
        )
    finally:
        server.stop()
        fixed.stop()
    rps = lambda result: result.requests_per_second  # noqa: E731
    p99 = lambda result: result.p99_ms  # noqa: E731
    ratio, (one, baseline) = rounds.median(rps), rounds.median_pair(rps)
    errors = sum(ours.errors for ours, _ in rounds.pairs)
    report.add(
        "one client (id=N) with token check, requests/s",
        f"{one.requests_per_second:,.0f}",
        f"{baseline.requests_per_second:,.0f} (fixed 1 KB)",
        ratio,
        ">= 0.7x",
        ratio >= 0.7 and errors == 0,
    )
    latency = rounds.median(p99)
    (one_p99, base_p99) = rounds.median_pair(p99)
    report.add(
        "one client (id=N), p99 latency ms",
        f"{one_p99.p99_ms:.2f}",
        f"{base_p99.p99_ms:.2f} (fixed 1 KB)",
        latency,
        "<= 2x",
        latency <= 2,
    )
    report.notes.append(
        f"One client per request: median of {pairs} interleaved pairs of {slice_seconds} s each; requests/s "
        f"ratios {rounds.spread(rps)}, p99 ratios {rounds.spread(p99)}; "
        "the figures shown are the median pair's."
    )


def bench_memory(report: Report, work: Path, big: int) -> None:
    seed_count = min(big, 10_000)
    url, client_id, secret = prepare(work / "big.db", population.build(seed_count))
    total = clone_clients(work / "big.db", max(1, big // seed_count))
    server = start(dict(SERVING_ENV, GATEWAY_DATABASE_URL=url), work / "big.log", workers=1)
    try:
        auth = {"Authorization": f"Bearer {token(server.url, client_id, secret)}"}
        requests.get(
            f"{server.url}/api/command",
            params={"action": "get_connected_clients", "id": 1},
            headers=auth,
            timeout=30,
        )
        (pid,) = server.worker_pids()
        before = rss_kb(pid)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        received = 0
        with requests.get(
            f"{server.url}/api/command",
            params={"action": "get_connected_clients", "include_connections": 1},
            headers=auth,
            stream=True,
            timeout=300,
        ) as response:
            for chunk in response.iter_content(1 << 16):
                received += len(chunk)
        done.set()
        sampler.join()
        growth_mb = (max(peak[0], rss_kb(pid, "VmHWM")) - before) / 1024
    finally:
        server.stop()
    report.add(
        f"worker memory growth streaming {total:,} clients ({received / 1e6:.0f} MB)",
        f"{growth_mb:.1f} MB",
        "-",
        None,
        "<= 64 MB",
        growth_mb <= 64,
    )


def feed_token(base: str, url: str) -> str:
    svc = services(url)
    creds = svc.accounts.create(f"feeder-{time.time_ns()}", "read_only", feed=True)
    svc.store.close()
    return token(base, creds.account.client_id, creds.client_secret)


def measure_feed_writes(
    base: str, auth: dict, count: int, seconds: int, writers: int = 4
) -> tuple[float, int]:
    """Events per second appended through POST /api/v1/batch (1,000 events per batch: 20 clients x 50)."""
    import concurrent.futures

    # Bodies are encoded before the clock starts: the figure is the gateway's, not the load generator's.
    bodies = [
        json.dumps(events_batch(list(range(start, start + 20)), 50, f"b{start}")).encode()
        for start in range(1, count - 20, 20)
    ]
    headers = {**auth, "Content-Type": "application/json"}
    totals, errors = [0] * writers, [0] * writers
    deadline = time.perf_counter() + seconds

    def writer(index: int) -> None:
        session = requests.Session()
        n = 0
        while time.perf_counter() < deadline:
            body = bodies[(index * 7 + n * writers) % len(bodies)]
            response = session.post(f"{base}/api/v1/batch", data=body, headers=headers, timeout=60)
            if response.status_code == 200:
                totals[index] += 1000
            else:
                errors[index] += 1
            n += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        list(pool.map(writer, range(writers)))
    return sum(totals) / (time.perf_counter() - started), sum(errors)


def store_path_rate(url: str, count: int, seconds: int, clients_per_batch: int, per_client: int) -> float:
    """Events per second through Registry.apply in this process (validated batches; rendering, change log,
    durable commits included): the registry's write path without HTTP and JSON."""
    from gateway.registry.schemas import BatchSchema

    prepare_url(url, population.build(count, events=2))
    svc = services(url)
    registry = svc.registry
    schema = BatchSchema()
    batches = [
        schema.load(events_batch(list(range(start, start + clients_per_batch)), per_client, f"s{start}"))[
            "operations"
        ]
        for start in range(1, count - clients_per_batch, clients_per_batch)
    ]
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        registry.apply(batches[done % len(batches)], batch=True)
        done += 1
    rate = done * clients_per_batch * per_client / (time.perf_counter() - started)
    svc.store.close()
    return rate


#: Pairs of write-path rounds (gateway, executemany): within one run their ratios spread over about
#: 0.2-0.3x, so the median of five is steadier than that of three, for 16 s more.
WRITE_PAIRS = 5


def bench_writes(report: Report, work: Path, seconds: int, postgres_url: str | None) -> None:
    count = 2_000
    slice_seconds = max(2, seconds // 2)
    files = itertools.count()  # a fresh database for every measurement
    rounds = interleaved(
        WRITE_PAIRS,
        lambda: store_path_rate(
            f"sqlite:///{work / f'store-path-{next(files)}.db'}", count, slice_seconds, 10, 100
        ),
        lambda: baselines.sqlite_executemany(str(work / f"baseline-{next(files)}.db"), slice_seconds),
    )
    same = lambda rate: rate  # noqa: E731 - the measurements are rates already
    ratio, (store_rate, base_rate) = rounds.median(same), rounds.median_pair(same)
    report.add(
        "registry write path on SQLite, events/s (in process, 10 clients x 100 events per batch)",
        f"{store_rate:,.0f}",
        f"{base_rate:,.0f} (sqlite3 executemany)",
        ratio,
        ">= 0.2x",
        ratio >= 0.2,
    )
    report.notes.append(
        f"Write path: median of {WRITE_PAIRS} interleaved pairs of {slice_seconds} s each; "
        f"ratios {rounds.spread(same)}."
    )
    engines = [("SQLite", f"sqlite:///{work / 'writes.db'}", 10_000)]
    pg_database = None
    if postgres_url:
        import psycopg
        from psycopg import sql

        from gateway.storage.postgresql import engine_url

        server = engine_url(postgres_url).set(drivername="postgresql")
        pg_database = f"gateway_bench_{os.getpid()}"
        with psycopg.connect(server.render_as_string(hide_password=False), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(pg_database)))
        engines.append(
            ("PostgreSQL", server.set(database=pg_database).render_as_string(hide_password=False), 5_000)
        )
    else:
        report.notes.append(
            "PostgreSQL write figure skipped: set BENCH_POSTGRES_URL (or GATEWAY_TEST_POSTGRES_URL)."
        )
    try:
        for name, url, target in engines:
            prepare_url(url, population.build(count, events=2))
            server = start(
                dict(SERVING_ENV, GATEWAY_DATABASE_URL=url), work / f"writes-{name}.log", workers=2
            )
            try:
                auth = {"Authorization": f"Bearer {feed_token(server.url, url)}"}
                rate, errors = measure_feed_writes(server.url, auth, count, seconds)
            finally:
                server.stop()
            report.add(
                f"feed writes over HTTP on {name}, events/s (POST /api/v1/batch, 20 clients x 50 events)",
                f"{rate:,.0f}",
                "-",
                None,
                f">= {target:,}/s",
                rate >= target and errors == 0,
            )
    finally:
        if pg_database:
            with psycopg.connect(
                engine_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False),
                autocommit=True,
            ) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(pg_database))
                )


def bench_churn(
    report: Report, work: Path, seconds: int, count: int = 2_000, rate: int = 500, readers: int = 8
) -> None:
    """8 readers take full dumps while a writer process appends at least ``rate`` events per second; every
    document must be valid and every client consistent (one moment: its log ordered, at most 20 events, ids
    unique)."""
    import concurrent.futures

    from lxml import etree

    from gateway.xml import xsd

    url = f"sqlite:///{work / 'churn.db'}"
    client_id, secret = prepare_url(url, population.build(count, events=20))
    server = start(
        dict(SERVING_ENV, GATEWAY_DATABASE_URL=url, GATEWAY_WORKERS="4"), work / "churn.log", workers=4
    )
    problems: list[str] = []
    documents = [0]
    try:
        read_auth = {"Authorization": f"Bearer {token(server.url, client_id, secret)}"}
        feed_auth = {"Authorization": f"Bearer {feed_token(server.url, url)}"}
        deadline = time.monotonic() + seconds

        def read() -> None:
            session = requests.Session()
            while time.monotonic() < deadline:
                response = session.get(
                    f"{server.url}/api/command",
                    params={"action": "get_connected_clients", "include_connections": 1},
                    headers=read_auth,
                    timeout=60,
                )
                if response.status_code != 200:
                    problems.append(f"reader got {response.status_code}")
                    continue
                try:
                    root = xsd.validate(response.content, NAMESPACE)
                except (etree.XMLSyntaxError, xsd.SchemaViolation) as exc:
                    problems.append(f"invalid document: {exc}"[:200])
                    continue
                ids = [el.get("id") for el in root]
                if len(ids) != len(set(ids)) or len(ids) != count:
                    problems.append(f"{len(ids)} clients, {len(set(ids))} distinct")
                for el in root:
                    stamps = [
                        int(e.get("ts")) for e in el.iterfind("{*}client_connections/{*}event_log/{*}event")
                    ]
                    if stamps != sorted(stamps) or len(stamps) > 20:
                        problems.append(f"client {el.get('id')}: event log out of order or over 20")
                documents[0] += 1

        spawn = multiprocessing.get_context("spawn")
        with (
            concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as writer_process,
            concurrent.futures.ThreadPoolExecutor(readers) as pool,
        ):
            writer = writer_process.submit(churn, server.url, feed_auth, count, rate, deadline)
            for future in [pool.submit(read) for _ in range(readers)]:
                future.result()
            written = writer.result()
    finally:
        server.stop()
    problems += written.problems
    churn_rate = written.rate
    report.add(
        f"{readers} full-dump readers under {churn_rate:,.0f} events/s of churn",
        f"{documents[0]} docs",
        "-",
        None,
        f"no error, consistent, >= {rate} events/s",
        not problems and churn_rate >= rate,
    )
    if problems:
        report.notes.append(f"Churn problems (first 5 of {len(problems)}): " + "; ".join(problems[:5]))


def write_markdown(report: Report, args) -> Path:
    path = ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    lines = [
        "# Benchmarks",
        "",
        (
            f"Measured by `make bench` on {time.strftime('%Y-%m-%d')}: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}."
        ),
        (
            "Every figure is measured beside its baseline in the same run; "
            "the ratio is what is judged (the machine is shared)."
        ),
        "",
        "| measure | gateway | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        result = "-" if r.ok is None else ("pass" if r.ok else "MISS")
        lines.append(f"| {r.name} | {r.ours} | {r.baseline} | {ratio} | {r.target} | {result} |")
    lines += [
        "",
        (
            "Baselines: (1) lxml `etree.xmlfile` serializing the same population from Python objects "
            "in one process;"
        ),
        (
            "(2) a Flask app returning a fixed 1 KB XML body under the same gunicorn settings "
            "(gateway/gunicorn_conf.py, 2 workers);"
        ),
        "(3) raw sqlite3 `executemany` with the gateway's pragmas (WAL, synchronous=FULL).",
        "",
        "HTTP load comes from wrk (2 threads; 2 connections for full dumps, 8 for single-client requests).",
        "",
    ]
    lines += [
        (
            "The gateway runs with the request journal and the per-request log line off "
            "(`GATEWAY_JOURNAL=false`,"
        ),
        (
            "`GATEWAY_REQUEST_LOG=false`), as for any load test: "
            "the baseline app and gunicorn (no access log) write none."
        ),
        "",
    ]
    lines += [f"- {n}" for n in report.notes]
    lines += [
        "",
        (
            "Reproduce: `make bench` (installs wrk with apt if it is missing), "
            "or `.venv/bin/python -m bench --help`."
        ),
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--only", choices=["reads", "memory", "writes", "churn"], action="append")
    args = parser.parse_args()
    report = Report()
    print(f"  {'measure':<52} {'gateway':>22} {'baseline':>22} {'ratio':>8}  {'target':<14}")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        work = Path(tmp)
        if not args.only or "reads" in args.only:
            bench_reads(report, work, args.clients, args.seconds)
        if not args.only or "memory" in args.only:
            bench_memory(report, work, args.big)
        if not args.only or "writes" in args.only:
            postgres = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("GATEWAY_TEST_POSTGRES_URL")
            bench_writes(report, work, args.seconds, postgres)
        if not args.only or "churn" in args.only:
            bench_churn(report, work, args.seconds)
    path = write_markdown(report, args)
    print(f"\nWrote {path.relative_to(ROOT)}")
    return 0 if all(r.ok is not False for r in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
