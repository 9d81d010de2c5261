"""Starting real gunicorn processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from gateway.clock import Clock
from gateway.oauth.accounts import AccountService, Credentials
from gateway.registry.service import Registry
from gateway.storage import open_store
from gateway.storage.migrate import upgrade
from gateway.xml.clients import render_client
from tests import populations

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str, name: str = "integration", permission: str = "read_only", **options) -> Credentials:
    """Migrate the database at ``url``, load the small population, create an API account; its credentials."""
    store = open_store(url)
    try:
        upgrade(store)
        populations.load(Registry(store, Clock(), render_client))
        return AccountService(store, Clock()).create(name, permission, **options)
    finally:
        store.close()


@dataclass
class Server:
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


def start(env_overrides: dict, log: Path, scheme: str = "http", workers: int = 2, verify=None, timeout: float = 30,
          healthy: bool = True, app: str | None = None, ready_path: str = "/check_health") -> Server:
    """Start gunicorn (``app``: another WSGI app than wsgi:app) and wait until ``ready_path`` answers 200
    (any answer when ``healthy`` is False)."""
    port = free_port()
    env = {**os.environ, "GATEWAY_BIND": f"127.0.0.1:{port}", "GATEWAY_WORKERS": str(workers),
           "GATEWAY_ACCESS_LOG": "", **env_overrides}
    handle = open(log, "ab")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"] + ([app] if app else []), cwd=ROOT, env=env,
                               stdout=handle, stderr=subprocess.STDOUT)
    url = f"{scheme}://127.0.0.1:{port}" if scheme == "http" else f"https://localhost:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}{ready_path}", timeout=5, verify=verify).status_code == 200 or not healthy:
                return Server(process, url, log, env)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not answer within {timeout}s: {log.read_text()[-3000:]}")
