"""Running a gateway to test or measure it: in this process on a free port (the pytest plugin), or as
gunicorn processes (end-to-end tests, the benchmark)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from flask import Flask


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- in this process --------------------------------------------------------------------------------
class InProcessServer:
    """An app served on a free local port by a thread of this process (werkzeug's threaded server)."""

    def __init__(self, app: Flask):
        from werkzeug.serving import make_server

        self.app = app
        self._http = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._http.server_port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="gateway-test-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


# --- gunicorn processes -----------------------------------------------------------------------------
@dataclass
class GunicornServer:
    process: subprocess.Popen
    url: str
    log: Path
    env: dict

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def wait_for_workers(self, count: int, timeout: float = 60) -> list[int]:
        """The worker pids once ``count`` workers run (gunicorn answers once its first one has booted)."""
        deadline = time.monotonic() + timeout
        while len(pids := self.worker_pids()) != count and time.monotonic() < deadline:
            time.sleep(0.05)
        return pids


def _status(url: str, verify) -> int:
    """The status of GET ``url`` (``verify``: a CA bundle path, False for no check, None for the system's)."""
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def start_gunicorn(
    env_overrides: dict,
    log: Path,
    *,
    cwd: Path | None = None,
    scheme: str = "http",
    workers: int = 2,
    verify=None,
    timeout: float = 30,
    healthy: bool = True,
    app: str | None = None,
    ready_path: str = "/check_health",
) -> GunicornServer:
    """Start gunicorn with the gateway's settings (gateway.serving; run in ``cwd``, where ``app``, another
    WSGI app than the gateway, can be imported from) and wait until ``ready_path`` answers 200 (any answer
    when ``healthy`` is False)."""
    from gateway.serving import gunicorn_argv

    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_WORKERS": str(workers),
        "GATEWAY_ACCESS_LOG": "",
        **env_overrides,
    }
    with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            gunicorn_argv(app),
            cwd=cwd,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"{scheme}://127.0.0.1:{port}" if scheme == "http" else f"https://localhost:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            if _status(f"{url}{ready_path}", verify) == 200 or not healthy:
                return GunicornServer(process, url, log, env)
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not answer within {timeout}s: {log.read_text()[-3000:]}")
