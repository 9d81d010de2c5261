"""Running one storage job in several OS processes at once, as several gunicorn workers or nodes would.

Each job is a module-level function ``job(store, *args)``; every process opens its own store on the
URL, waits at a barrier so that all of them start writing together, runs the job and sends back its
result. A failure in any process fails the caller with that process's traceback.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence

from gateway.storage import open_store

#: Spawned, not forked: the test process holds threads and pooled connections that must not be copied.
_CONTEXT = multiprocessing.get_context("spawn")


def _run(url: str, barrier, results, index: int, job: Callable, args: tuple) -> None:
    store = open_store(url)
    try:
        store.ping()  # connect before the barrier, so the jobs really overlap
        barrier.wait(timeout=60)
        results.put((index, True, job(store, *args)))
    except BaseException:  # noqa: BLE001 - reported to the parent
        results.put((index, False, traceback.format_exc()))
    finally:
        store.close()


def processes_barrier(parties: int):
    """A barrier jobs can take as an argument, to line up a second moment inside the job."""
    return _CONTEXT.Barrier(parties)


def run_in_processes(
    url: str, job: Callable, args_per_process: Sequence[tuple], timeout: float = 120
) -> list:
    """Run ``job(store, *args)`` once per entry of ``args_per_process``, each in its own process; results in
    order."""
    barrier = _CONTEXT.Barrier(len(args_per_process))
    results = _CONTEXT.Queue()
    processes = [
        _CONTEXT.Process(target=_run, args=(url, barrier, results, i, job, tuple(args)), daemon=True)
        for i, args in enumerate(args_per_process)
    ]
    for process in processes:
        process.start()
    try:
        collected = {
            index: (ok, value) for index, ok, value in (results.get(timeout=timeout) for _ in processes)
        }
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    failures = [value for ok, value in collected.values() if not ok]
    assert not failures, "a process failed:\n" + "\n".join(failures)
    return [collected[i][1] for i in range(len(processes))]
