"""Every example in the README and the docs site runs, in order, against a real gateway started the way the
page says (tests/docs/examples.py says how a page's blocks become one script)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.testing.servers import free_port
from tests.docs.examples import DirectiveError, blocks, script

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
RUNNABLE = [page for page in PAGES if any(not b.skipped for b in blocks(page))]


def _environment(folder: Path) -> dict[str, str]:
    """The reader's shell: the installed `gateway` and `python` on PATH, no GATEWAY_* setting of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "PYTEST_", "COV_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(folder)
    env["GATEWAY_TEST_POSTGRES_URL"] = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "")
    return env


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    text = script(blocks(page), free_port())
    (tmp_path / "page.sh").write_text(text)
    try:
        done = subprocess.run(
            ["bash", "page.sh"],
            cwd=tmp_path,
            env=_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:  # pragma: no cover - reported, not expected
        pytest.fail(f"{page.name}: examples did not finish in 600 s\n{exc.stdout}\n{exc.stderr}")
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("background-*.log"))
    assert done.returncode == 0, (
        f"{page.name}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}\n--- servers\n{logs}"
    )


def test_skipped_blocks_say_why(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("<!-- docs: not run -->\n```sh\nrm -rf /\n```\n")
    with pytest.raises(DirectiveError, match="needs a reason"):
        blocks(page)


def test_listings_are_not_run_and_directives_attach_to_the_next_block(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "```xml\n<a/>\n```\n"
        "<!-- docs: background, ready=/readyz -->\n```sh\ngateway serve\n```\n"
        "text\n\n```python\nprint(1)\n```\n"
        "<!-- docs: not run (needs an appliance) -->\n```bash\ncurl https://appliance\n```\n"
    )
    found = blocks(page)
    assert [(b.kind, b.background, b.ready, b.skipped) for b in found] == [
        ("shell", True, "/readyz", None),
        ("python", False, None, None),
        ("shell", False, None, "needs an appliance"),
    ]
    text = script(found, 4242)
    assert "wait_ready http://127.0.0.1:4242/readyz ${BACKGROUND[-1]}" in text
    assert "appliance" not in text


def test_a_failing_block_fails_the_page_and_names_it(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("```sh\ntrue\n```\n\n```sh\nfalse\n```\n\n```sh\necho never\n```\n")
    done = subprocess.run(
        ["bash", "-c", script(blocks(page), 1)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode != 0
    assert "p.md:5 failed" in done.stderr
    assert "never" not in done.stdout


def test_documented_port_is_replaced(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("```sh\necho http://127.0.0.1:8080/x localhost:8080\n```\n")
    done = subprocess.run(
        ["bash", "-c", script(blocks(page), 5555)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.stdout.strip() == "http://127.0.0.1:5555/x localhost:5555"


def test_file_blocks_are_written_for_later_blocks(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "<!-- docs: file=pkg/test_x.py -->\n```python\nprint('$HOME')\n```\n\n```sh\ncat pkg/test_x.py\n```\n"
    )
    done = subprocess.run(
        ["bash", "-c", script(blocks(page), 1)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "print('$HOME')\n"
    page.write_text("<!-- docs: file=../x -->\n```python\n1\n```\n")
    with pytest.raises(DirectiveError, match="relative path"):
        blocks(page)


def test_a_server_that_exits_fails_the_wait_at_once(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "<!-- docs: background, ready=/readyz -->\n```sh\necho cannot start; exit 3\n```\n\n"
        "```sh\necho after\n```\n"
    )
    done = subprocess.run(
        ["bash", "-c", script(blocks(page), free_port())], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode != 0 and "exited" in done.stderr and "after" not in done.stdout
