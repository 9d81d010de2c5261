"""docs/configuration.md is generated from the settings' definitions (gateway/config.py), so it cannot drift;
a misspelt GATEWAY_* name is warned about instead of silently ignored."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from gateway.config import BOOLEAN_SETTINGS, DEFAULTS, HELP, PROCESS_SETTINGS, unknown_names
from tests.docs.generated import check_section

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "configuration.md"


def _default(key: str) -> str:
    value = DEFAULTS[key]
    if key in BOOLEAN_SETTINGS:
        return "`true`" if value else "`false`"
    if value == "":
        return "unset"
    if isinstance(value, int) and value >= 1 << 20 and value % (1 << 20) == 0:
        return f"`{value}` ({value >> 20} MiB)"
    return f"`{value}`"


def generated() -> str:
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    rows += [f"| `GATEWAY_{key}` | {_default(key)} | {HELP[key]} |" for key in DEFAULTS]
    rows += ["", "Read by gunicorn's configuration and the commands, not by the app:", ""]
    rows += ["| Variable | Default | Meaning |", "|---|---|---|"]
    rows += [
        f"| `GATEWAY_{key}` | {f'`{default}`' if default else 'unset'} | {meaning} |"
        for key, (default, meaning) in PROCESS_SETTINGS.items()
    ]
    return "\n".join(rows)


def test_the_configuration_page_is_generated_from_the_definitions() -> None:
    check_section(PAGE, "settings", generated())


def test_every_setting_the_code_reads_is_defined() -> None:
    read = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        read |= set(re.findall(r"GATEWAY_([A-Z][A-Z0-9_]*[A-Z0-9])", path.read_text(encoding="utf-8")))
    assert read <= set(DEFAULTS) | set(PROCESS_SETTINGS), sorted(read - set(DEFAULTS) - set(PROCESS_SETTINGS))


def test_unknown_names_are_found_and_warned_about(tmp_path: Path) -> None:
    environ = {"GATEWAY_WORKERS": "2", "GATEWAY_WROKERS": "2", "GATEWAY_TEST_POSTGRES_URL": "x", "HOME": "/"}
    assert unknown_names(environ) == ["GATEWAY_WROKERS"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")} | {"GATEWAY_JOURNL": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "registry", "fixtures"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "Warning: GATEWAY_JOURNL is no setting of the gateway" in done.stderr
