"""The product as a user installs it: the wheel built from this checkout, installed into a bare venv, run
from an empty folder (no checkout on the path) with the command the Dockerfile runs.

The wheel is built and installed once per session (about 30 s: the dependencies come from pip's cache or
index, at the versions of constraints.txt); the tests then share that venv.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from gateway.config import NAMESPACE_PRESETS
from gateway.testing.servers import free_port
from tests.server import ROOT
from tests.xmlutil import parse

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("installed-wheel")]

NAMESPACE = NAMESPACE_PRESETS["beyondtrust"]
CAPTURE = ROOT / "tests" / "xml" / "captures" / "beyondtrust_every_type.xml"
#: What a wheel is built from (a copy: an in-tree build would leave build/ with stale files behind).
SOURCES = ("gateway", "setup.cfg", "pyproject.toml", "README.md", "LICENSE")
CLIENT_ID, SECRET = "ci-reader", "ci-secret-0123456789abcdef"


def dockerfile_command() -> list[str]:
    """The Dockerfile's CMD (exec form)."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return json.loads(line[4:])
    raise AssertionError("the Dockerfile has no CMD")


def dockerfile_healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (exec form)."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("HEALTHCHECK "):
            return json.loads(line[line.index(" CMD ") + 5 :])
    raise AssertionError("the Dockerfile has no HEALTHCHECK")


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    """A bare venv (no site packages, no checkout) with the wheel of this checkout installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("*.whl")
    env_dir = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, capture_output=True)
    subprocess.run(
        [
            env_dir / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            ROOT / "constraints.txt",
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    return env_dir


def bare_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of this run's GATEWAY_*, Python path or Prometheus settings."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "PYTHON", "PROMETHEUS_", "VIRTUAL_ENV"))
    }
    return {**keep, **extra}


def run(venv: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "gateway"), *args],
        cwd=cwd,
        env=bare_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_ready(process: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gateway serve exited: {log.read_text()[-3000:]}"
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready within {timeout}s: {log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def command(url: str, token: str, **params) -> requests.Response:
    return requests.get(
        f"{url}/api/command",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_the_installed_package_is_the_one_run(venv, tmp_path):
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import gateway; print(gateway.__file__)"],
        cwd=tmp_path,
        env=bare_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(found.stdout.strip()).is_relative_to(venv), found.stdout
    help_text = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "gateway", "--help"],
        cwd=tmp_path,
        env=bare_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "serve" in help_text
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        env=bare_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    for extra in ("pytest", "selenium", "hypothesis", "schemathesis", "ruff", "psycopg"):
        assert f"\n{extra}==" not in f"\n{installed}", f"{extra} is not a runtime dependency"


def test_serve_from_an_empty_folder_with_the_dockerfile_command(venv, tmp_path):
    """Serve with the Dockerfile's CMD (its bind address made local), fixed demo credentials; the answer
    validates against the served XSD; a capture is imported and a named fixture loaded by the CLI beside the
    running server; the Dockerfile's health check passes."""
    cmd = dockerfile_command()
    assert cmd[:2] == ["gateway", "serve"] and "--bind" in cmd
    port = free_port()
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    url = f"http://127.0.0.1:{port}"
    folder = tmp_path / "empty"
    folder.mkdir()
    log = tmp_path / "serve.log"
    env = bare_env(
        PATH=f"{venv / 'bin'}:{os.environ['PATH']}",
        GATEWAY_WORKERS="1",
        GATEWAY_DEMO_CLIENT_ID=CLIENT_ID,
        GATEWAY_DEMO_CLIENT_SECRET=SECRET,
    )
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(process, url, log)
        printed = log.read_text()
        assert f"client_id:     {CLIENT_ID}" in printed and SECRET not in printed
        assert (folder / "var" / "gateway.db").is_file()

        token = requests.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, SECRET),
            timeout=30,
        ).json()["access_token"]
        served_xsd = requests.get(f"{url}/api/command.xsd", timeout=30)
        assert served_xsd.status_code == 200
        schema = etree.XMLSchema(etree.fromstring(served_xsd.content))
        answer = command(url, token, action="get_connected_clients", include_connections=1)
        assert answer.status_code == 200
        root = parse(answer.content)
        assert schema.validate(root), schema.error_log
        assert len(root) > 100, "the demo population was loaded"
        assert requests.get(f"{url}/ui/static/app.js", timeout=30).status_code == 200

        imported = run(venv, folder, "clients", "import-xml", str(CAPTURE))
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.startswith("Imported ")
        after_import = command(url, token, action="get_connected_clients")
        assert schema.validate(parse(after_import.content)), schema.error_log
        captured = parse(CAPTURE.read_bytes())
        assert len(parse(after_import.content)) == len(captured)

        reset = run(venv, folder, "registry", "reset", "--fixture", "small")
        assert reset.returncode == 0, reset.stderr
        listed = run(venv, folder, "registry", "fixtures").stdout.split()
        assert {"small", "queue"} <= set(listed)
        small = command(url, token, action="get_connected_clients")
        assert schema.validate(parse(small.content)), schema.error_log
        assert "Reset the registry to fixture 'small'" in reset.stdout
        count = int(reset.stdout.split(" appliances, ")[1].split(" clients")[0])
        assert len(parse(small.content)) == count

        healthcheck = [part.replace("8080", str(port)) for part in dockerfile_healthcheck()]
        assert healthcheck[0] == "python"
        healthcheck[0] = str(venv / "bin" / "python")
        assert subprocess.run(healthcheck, env=bare_env(), timeout=30).returncode == 0
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text()[-3000:]
