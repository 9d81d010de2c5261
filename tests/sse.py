"""Reading server-sent events in tests: a parser (fields per event, comments kept apart) and a reader of a
live ``requests`` stream."""

from __future__ import annotations

import json
import threading
import time


def parse(text: str) -> list[dict]:
    """Every block of a stream: {"id", "event", "data" (parsed JSON), "retry", "comments"} as present."""
    blocks = []
    for raw in text.replace("\r\n", "\n").split("\n\n"):
        if not raw.strip():
            continue
        block: dict = {}
        for line in raw.split("\n"):
            if line.startswith(":"):
                block.setdefault("comments", []).append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            block[name] = json.loads(value) if name == "data" else value
        blocks.append(block)
    return blocks


def events(text: str) -> list[dict]:
    return [b for b in parse(text) if "event" in b]


class StreamReader:
    """Reads a ``requests`` response with ``stream=True`` in a thread; ``wait_for(predicate)`` polls the
    events."""

    def __init__(self, response):
        self.response = response
        self.text = ""
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for chunk in self.response.iter_content(chunk_size=None, decode_unicode=True):
                with self._lock:
                    self.text += chunk
        except Exception:  # noqa: BLE001 - the test closed the stream
            pass

    def events(self) -> list[dict]:
        with self._lock:
            complete = self.text[: self.text.rfind("\n\n") + 2]
        return events(complete)

    def wait_for(self, predicate, timeout: float = 60) -> list[dict]:
        """The events matching ``predicate``, as soon as any arrive (``timeout`` bounds a loaded machine)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if predicate(e)]
            if found:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no matching event within {timeout}s; got {self.events()!r}")

    def close(self) -> None:
        self.response.close()
