"""The documentation's examples as runnable scripts.

A page's fenced blocks run in order, as one bash script in a fresh folder: ``sh``/``bash`` blocks as they
are, ``python`` blocks through ``python -`` (shell variables exported before reach them as environment).
Other fences (``xml``, ``json``, ``text``, ``console`` output, ...) are listings and never run.

An HTML comment right before a block changes how it runs (it is invisible on the rendered page):

- ``<!-- docs: not run (why) -->``: the block is shown only; the reason is required.
- ``<!-- docs: background, ready=/readyz -->``: the block starts a server; it runs in the background (stopped
  when the page ends) and the next block waits until ``ready`` answers 200 on the documented address.
- ``<!-- docs: file=NAME -->``: the block (any language) is written to the file NAME in the page's folder, for
  the blocks after it (a test module, a fixture, a client).

The documented address is ``127.0.0.1:8080``; each page gets a free port in its place, so pages can run
side by side and never meet a gateway the reader left running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCUMENTED_PORT = "8080"
RUN_LANGUAGES = {"sh": "shell", "bash": "shell", "python": "python"}
_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+|~~~+)\s*(?P<info>[^\n`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs:\s*(?P<body>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    kind: str  # "shell", "python" or "file"
    code: str
    background: bool = False
    ready: str | None = None
    skipped: str | None = None  # the reason, when not run
    file: str | None = None  # where a "file" block is written


class DirectiveError(ValueError):
    pass


def _directive(text: str, page: Path, line: int) -> dict[str, str]:
    body = text.strip()
    if body.startswith("not run"):
        reason = body[len("not run") :].strip(" ()")
        if not reason:
            raise DirectiveError(f"{page}:{line}: 'docs: not run' needs a reason in parentheses")
        return {"not run": reason}
    out: dict[str, str] = {}
    for part in (p.strip() for p in body.split(",")):
        if part == "background":
            out["background"] = "1"
        elif part.startswith("ready="):
            out["ready"] = part[len("ready=") :]
        elif part.startswith("file="):
            name = part[len("file=") :]
            if not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", name) or ".." in name.split("/"):
                raise DirectiveError(f"{page}:{line}: file={name!r} is not a relative path")
            out["file"] = name
        else:
            raise DirectiveError(f"{page}:{line}: unknown docs directive {part!r}")
    return out


def blocks(page: Path) -> list[Block]:
    """Every runnable or explicitly skipped block of a page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    pending: dict[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        if directive:
            pending = _directive(directive["body"], page, i + 1)
            i += 1
            continue
        fence = _FENCE.match(line)
        if not fence:
            if line.strip():
                pending = None
            i += 1
            continue
        start = i
        marker, indent = fence["fence"], len(fence["indent"])
        language = fence["info"].split()[0].lower() if fence["info"].strip() else ""
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(marker):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        options, pending = pending or {}, None
        if "file" in options:
            code = "\n".join(body) + "\n"
            found.append(Block(page=page, line=start + 1, kind="file", code=code, file=options["file"]))
            continue
        if language not in RUN_LANGUAGES:
            if options:
                raise DirectiveError(f"{page}:{start + 1}: a docs directive on a {language or 'plain'} block")
            continue
        found.append(
            Block(
                page=page,
                line=start + 1,
                kind=RUN_LANGUAGES[language],
                code="\n".join(body) + "\n",
                background="background" in options,
                ready=options.get("ready"),
                skipped=options.get("not run"),
            )
        )
    return found


def script(page_blocks: list[Block], port: int) -> str:
    """One bash script that runs a page's blocks in order and says which block failed."""
    out = [
        "set -eu",  # as a reader's shell: a pipeline's status is its last command's (`dump - | head` is fine)
        "BACKGROUND=()",
        (
            'stop_background() { for pid in "${BACKGROUND[@]}"; do'
            ' kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done; }'
        ),
        "trap stop_background EXIT",
        "trap 'echo \"docs: block at $DOCS_BLOCK failed (status $?)\" >&2' ERR",
        # Wait on the condition (the server answers, or its process is gone), bounded so a broken page fails
        # instead of hanging.
        (
            'wait_ready() { for _ in $(seq 1 1200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0;'
            ' kill -0 "$2" 2>/dev/null || { echo "docs: the server of $1 exited" >&2; return 1; };'
            ' sleep 0.1; done; echo "docs: $1 never became ready" >&2; return 1; }'
        ),
    ]
    pending_ready: str | None = None
    for block in page_blocks:
        if block.skipped:
            continue
        code = block.code.replace(f"127.0.0.1:{DOCUMENTED_PORT}", f"127.0.0.1:{port}")
        code = code.replace(f"localhost:{DOCUMENTED_PORT}", f"localhost:{port}")
        if pending_ready:
            out.append(f"wait_ready {pending_ready} ${{BACKGROUND[-1]}}")
            pending_ready = None
        out.append(f"DOCS_BLOCK='{block.page.name}:{block.line}'")
        if block.kind == "file":
            out.append(f"mkdir -p \"$(dirname '{block.file}')\"")
            out.append(f"cat > '{block.file}' <<'DOCS_FILE'\n" + block.code + "DOCS_FILE")
        elif block.kind == "python":
            out.append("python - <<'DOCS_PYTHON'\n" + code + "DOCS_PYTHON")
        elif block.background:
            # A reader's `export` before the server command holds in their shell for the blocks after it;
            # the background job is a subshell, so the exports also run here.
            out.extend(line for line in code.splitlines() if line.startswith("export "))
            out.append("set -m")
            out.append("(\n" + code + ") > background-$BASHPID.log 2>&1 &")
            out.append("BACKGROUND+=($!)")
            out.append("set +m")
            if block.ready:
                pending_ready = f"http://127.0.0.1:{port}{block.ready}"
        else:
            out.append(code)
    if pending_ready:
        out.append(f"wait_ready {pending_ready} ${{BACKGROUND[-1]}}")
    return "\n".join(out) + "\n"
