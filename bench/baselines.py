"""The baselines every figure is compared with, measured in the same run.

1. ``serialize_xmlfile``: lxml.etree.xmlfile writing the whole population from Python objects, in one process
   (what serializing on every request costs).
2. ``fixed_app``: a Flask app that returns a fixed 1 KB XML body, served by gunicorn with the same settings.
3. ``sqlite_executemany``: raw sqlite3 executemany inserting event rows (the floor for feed writes).
"""

from __future__ import annotations

import io
import sqlite3
import time

from lxml import etree

from gateway.xml.clients import client_element


def serialize_xmlfile(clients, namespace: str) -> bytes:
    out = io.BytesIO()
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element("connected_clients", nsmap={None: namespace}):
            for client in clients:
                xf.write(client_element(client, True))
    return out.getvalue()


def docs_per_second(fn, min_seconds: float = 3.0, min_runs: int = 2) -> tuple[float, int]:
    """Call fn repeatedly for at least min_seconds; return (calls per second, bytes of the last result)."""
    runs, size, start = 0, 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < min_seconds:
        size = len(fn())
        runs += 1
    return runs / (time.perf_counter() - start), size


def sqlite_executemany(path: str, seconds: float = 2.0, min_rows: int = 50_000) -> float:
    """Rows per second that plain sqlite3 executemany commits in batches of 1,000, with the gateway's
    pragmas, for as long as the gateway's own write-path figure runs (so both see the same WAL growth and
    checkpoints)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS ev "
        "(seq INTEGER PRIMARY KEY, client_key INTEGER, ts INTEGER, kind TEXT, text TEXT)"
    )
    batch = [
        (i % 1000, 1_790_000_000 + i, "connect", f"Connected to traffic node node{i % 3}.example.com")
        for i in range(1000)
    ]
    rows, start = 0, time.perf_counter()
    while rows < min_rows or time.perf_counter() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO ev (client_key, ts, kind, text) VALUES (?, ?, ?, ?)", batch)
        db.execute("COMMIT")
        rows += len(batch)
    elapsed = time.perf_counter() - start
    db.close()
    return rows / elapsed
