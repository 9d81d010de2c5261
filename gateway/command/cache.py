"""The worker's cache of whole command documents (get_connected_clients: the full dump and per-id answers).

Integrations poll the same few requests over and over, and between two writes the answer to each is the
same bytes. An entry is kept under the registry's shared change version (``change_seq``, bumped in the
transaction of every registry write on any node; gateway.versions reads it once per request): a request
that starts after a write commits sees a newer version, which empties the cache, so no answer outlives a
write beyond the requests already running when it committed. The key also holds everything else the bytes
depend on: the action, its loaded parameters and the serializer's settings (namespace, layout).

An entry holds exactly the bytes the serializer produced, so a hit answers what a miss would have. A
document is kept only when it is at most ``max_document`` bytes, and the entries together stay within
``budget`` (least recently used first out); a dump that did not fit last time is streamed without being
gathered, so a registry too large to cache costs no memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator

#: A kept document: its bytes as the serializer produced them, in the chunks it produced (a dump is kept
#: without joining its chunks, which would hold it twice for a moment).
Document = tuple[bytes, ...]


class DocumentCache:
    def __init__(self, budget: int, max_document: int):
        self.budget = budget
        self.max_document = min(max_document, budget)
        self._lock = threading.Lock()
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, Document] = OrderedDict()
        self._size = 0
        #: The size each key's document had when it last streamed uncached (to skip gathering oversize ones).
        self._seen: dict[Hashable, int] = {}

    @property
    def enabled(self) -> bool:
        return self.budget > 0

    def __len__(self) -> int:
        """How many documents are kept."""
        return len(self._entries)

    def get(self, version: int, key: Hashable) -> Document | None:
        with self._lock:
            if version != self._version:
                return None
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def keep(self, version: int, key: Hashable, body: bytes | Iterable[bytes]) -> bytes | Iterator[bytes]:
        """Keep a freshly rendered document and return it unchanged: bytes at once, a stream as it is
        read to its end (a stream closed early is not kept)."""
        if isinstance(body, bytes):
            self._put(version, key, (body,), len(body))
            return body
        return self._gather(version, key, body)

    def _gather(self, version: int, key: Hashable, chunks: Iterable[bytes]) -> Iterator[bytes]:
        kept: list[bytes] | None = [] if self._seen.get(key, 0) <= self.max_document else None
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if kept is not None:
                    kept.append(chunk)
                    if size > self.max_document:
                        kept = None  # too large: stream the rest without holding it
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a dump closed early ends its read transaction now, as without the cache
        with self._lock:
            if len(self._seen) > 1024:
                self._seen.clear()
            self._seen[key] = size
        if kept is not None:
            self._put(version, key, tuple(kept), size)

    def _put(self, version: int, key: Hashable, body: Document, size: int) -> None:
        if size > self.max_document:
            return
        with self._lock:
            if version != self._version:  # a write committed: everything kept is stale
                self._entries.clear()
                self._size = 0
                self._version = version
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= _size(old)
            self._entries[key] = body
            self._size += size
            while self._size > self.budget:
                _, dropped = self._entries.popitem(last=False)
                self._size -= _size(dropped)


def _size(document: Document) -> int:
    return sum(map(len, document))
