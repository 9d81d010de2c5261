"""How long a reset to a named fixture takes on SQLite (the issue asks < 50 ms for 1,000 clients).

    .venv/bin/python bench/reset.py [--fixture thousand] [--rounds 20]

Times POST /api/v1/admin/reset as a test suite calls it before every test (Flask test client, a
real SQLite file in WAL mode with synchronous=FULL), in three situations:

- after a test: the previous test appended events to 20 clients, changed 20, disconnected 20 and
  connected 20 more (only those are replaced: the clients nothing wrote keep their rows);
- unchanged: nothing happened since the last reset;
- full: the registry held another fixture (every row is deleted and inserted again).

Prints medians and 90th percentiles in milliseconds, and how many times faster the first two are
than the full reset. Figures vary with the machine; no test asserts them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gateway import create_app
from gateway.storage.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", default="thousand")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url})
        svc = app.extensions["gateway"]
        upgrade(svc.store)
        creds = svc.accounts.create("bench", "read_only", admin=True, feed=True)
        client = app.test_client()
        token = client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds.account.client_id, creds.client_secret),
        ).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def reset(fixture: str = args.fixture) -> float:
            started = time.perf_counter()
            response = client.post("/api/v1/admin/reset", json={"fixture": fixture}, headers=headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.get_json()
            return elapsed

        def a_test() -> None:
            """What a test might do: write to 60 of the fixture's clients, connect 20 more."""
            for client_id in range(1, 61, 3):
                client.post(
                    f"/api/v1/clients/{client_id}/events", json={"text": "test event"}, headers=headers
                )
                client.patch(
                    f"/api/v1/clients/{client_id + 1}", json={"hostname": "changed"}, headers=headers
                )
                client.post(f"/api/v1/clients/{client_id + 2}/disconnect", json={}, headers=headers)
                client.post(
                    "/api/v1/clients",
                    json={
                        "type": "push_agent",
                        "hostname": "new",
                        "platform": "Linux",
                        "platform_id": "linux",
                        "name": "new",
                    },
                    headers=headers,
                )

        other = "demo" if args.fixture != "demo" else "empty"
        first = reset()  # prepares (ids, XML fragments) once per process
        reset(other)
        after_test, unchanged, full = [], [], []
        for _ in range(args.rounds):
            full.append(reset())
            a_test()
            after_test.append(reset())
            unchanged.append(reset())
            reset(other)
        clients = svc.registry.count()
        svc.store.close()

    def show(name: str, timings: list[float]) -> float:
        timings = sorted(timings)
        median, p90 = statistics.median(timings), timings[int(0.9 * (len(timings) - 1))]
        print(f"  {name:<12} median {median * 1000:6.1f} ms   p90 {p90 * 1000:6.1f} ms")
        return median

    print(
        f"reset to {args.fixture!r} over {args.rounds} rounds "
        f"(first one, preparing the fixture: {first * 1000:.0f} ms)"
    )
    typical, same, whole = show("after a test", after_test), show("unchanged", unchanged), show("full", full)
    print(
        f"  after a test is {whole / typical:.1f}x, unchanged {whole / same:.1f}x faster than a full reset"
        f" ({clients} clients in {other!r} at the end)"
    )


if __name__ == "__main__":
    main()
