"""The board where each process posts how many journal entries it has recorded and how many of them are
written (gateway.controls.journal writes them behind the answers): one small file per process, in a
folder beside the SQLite database, which every process using that file shares (SQLite's own files must be
on one machine, so its writers are too). A reader of the journal waits until each other process has
written what it had recorded when the read began.

A process posts with a write to its file's shared memory; readers open the others' files. The board also
numbers the entries (the journal's ``seq``) in the order they are handed over by every process: the last
number is in a shared file (``seq``), taken together with the process's post under a file lock that readers
take too. So a reader sees, for every number given out, the process that holds its entry; once they have
written what they held, no entry with a lower number can appear later (a client paging with ``after`` misses
none), and calls answered one after the other are in that order even when different workers answered
them and their writers wrote them in the other order.

A process's journal writer naps between writes on a datagram socket with an abstract name (Linux; no file),
whose address it posts on its file; a reader that waits for a process's entries sends it a byte, and the
writer writes at once instead of finishing its nap.

A process that died without removing its file (a killed worker: what it had not written is lost) is
skipped and its file removed; its process id is checked with its start time, so a reused id is not it.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import secrets
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

#: enqueued, settled (written or given up), the process's start time, its writer's wake-up address
_LAYOUT = struct.Struct("<QQQQ")
#: the last number given to an entry
_SEQ = struct.Struct("<Q")


def _started(pid: int) -> int | None:
    """The process's start time (clock ticks since boot, /proc/PID/stat) or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return 0  # not readable here: alive, start unknown
    # the command name (field 2) may hold spaces and parentheses: count fields after its last ")"
    return int(stat.rsplit(b")", 1)[1].split()[19])


class FileBoard:
    """Counters of the processes sharing one SQLite database (see the module)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._map: mmap.mmap | None = None
        self._held = threading.Lock()  # the file lock is the process's: its threads take turns first
        self._seq_pid: int | None = None
        self._seq_fd = -1
        self._seq_map: mmap.mmap | None = None
        self._floored = False
        self._wake: socket.socket | None = None  # this process's writer naps on it
        self._token = 0
        self._tokens: dict[int, int] = {}  # the other processes' wake-up addresses, as last read
        self._poker: socket.socket | None = None

    def post(self, enqueued: int, settled: int) -> None:
        """This process's counters (callers serialize their posts, in counter order)."""
        if self._pid != os.getpid():  # first post, or a forked child of the process that posted
            self._open()
        assert self._map is not None
        _LAYOUT.pack_into(self._map, 0, enqueued, settled, self._start, self._token)

    def take(self, enqueued: int, settled: int, floor: Callable[[], int]) -> int:
        """The number of the entry being handed over (the next after every number any process took, and
        after ``floor()``, the highest in the database, asked once per process), posted with this process's
        counters in one step under the board's lock. Callers serialize their calls, as for ``post``."""
        if self._pid != os.getpid():
            self._open()
        assert self._map is not None
        with self._sequence() as numbers:
            (last,) = _SEQ.unpack_from(numbers)
            if not self._floored:  # a database copied in, or written before this board
                last = max(last, floor())
                self._floored = True
            last += 1
            _SEQ.pack_into(numbers, 0, last)
            _LAYOUT.pack_into(self._map, 0, enqueued, settled, self._start, self._token)
        return int(last)

    @contextlib.contextmanager
    def _sequence(self) -> Iterator[mmap.mmap]:
        """The shared last number, under the lock every process's ``take`` and ``others`` take."""
        if self._seq_pid != os.getpid():
            with self._lock:
                if self._seq_pid != os.getpid():
                    self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                    fd = os.open(self.folder / "seq", os.O_RDWR | os.O_CREAT, 0o600)
                    if os.fstat(fd).st_size < _SEQ.size:
                        os.ftruncate(fd, _SEQ.size)
                    self._seq_map, self._seq_fd = mmap.mmap(fd, _SEQ.size), fd
                    self._seq_pid, self._floored = os.getpid(), False
        assert self._seq_map is not None
        with self._held:
            fcntl.flock(self._seq_fd, fcntl.LOCK_EX)
            try:
                yield self._seq_map
            finally:
                fcntl.flock(self._seq_fd, fcntl.LOCK_UN)

    def _open(self) -> None:
        with self._lock:
            pid = os.getpid()
            if self._pid == pid:
                return
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._start = _started(pid) or 0
            if self._wake is not None:
                self._wake.close()
            self._wake, self._token = _bound()
            path = self.folder / str(pid)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.ftruncate(fd, _LAYOUT.size)
                self._map = mmap.mmap(fd, _LAYOUT.size)
            finally:
                os.close(fd)
            self._pid = pid

    def others(self) -> dict[int, tuple[int, int]]:
        """The other live processes' (enqueued, settled), read under the board's lock: every number taken
        so far is counted in its process's ``enqueued``."""
        with self._sequence():
            return self._others()

    def _others(self) -> dict[int, tuple[int, int]]:
        found: dict[int, tuple[int, int]] = {}
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return found
        own = os.getpid()
        for name in names:
            if not name.isdigit() or int(name) == own:
                continue
            pid, path = int(name), self.folder / name
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            if len(data) < _LAYOUT.size:
                continue  # being created
            enqueued, settled, start, token = _LAYOUT.unpack_from(data)
            now = _started(pid)
            if now is None or (start and now and now != start):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # its process is gone
                self._tokens.pop(pid, None)
                continue
            found[pid] = (enqueued, settled)
            self._tokens[pid] = token
        return found

    def nap(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a reader wakes this process's writer (``wake``)."""
        sock = self._wake if self._pid == os.getpid() else None
        if sock is None:
            time.sleep(seconds)
            return
        poller = select.poll()  # not select(): a worker's descriptors may number past 1024
        poller.register(sock, select.POLLIN)
        with contextlib.suppress(OSError, ValueError):
            if poller.poll(seconds * 1000):
                while True:  # one nap ends for every wake-up sent meanwhile
                    sock.recv(16, socket.MSG_DONTWAIT)

    def wake(self, pids: Iterable[int]) -> None:
        """Ask the writers of processes ``pids`` (this one's included) to write what they hold now."""
        if self._poker is None:
            self._poker = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._poker.setblocking(False)
        own = os.getpid()
        for pid in pids:
            token = self._token if pid == own and self._pid == own else self._tokens.get(pid)
            if token:
                with contextlib.suppress(OSError):  # gone, or already woken (its queue is full)
                    self._poker.sendto(b"!", _address(token))

    def close(self) -> None:
        """Remove this process's file (it has written everything it recorded)."""
        with self._lock:
            if self._pid == os.getpid():
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / str(self._pid)).unlink()
            if self._map is not None:
                self._map.close()
            if self._wake is not None:
                self._wake.close()
            self._map, self._pid, self._wake, self._token = None, None, None, 0
            if self._seq_pid == os.getpid() and self._seq_map is not None:
                self._seq_map.close()
                os.close(self._seq_fd)
            self._seq_map, self._seq_fd, self._seq_pid = None, -1, None


def _address(token: int) -> bytes:
    """A writer's wake-up address: a Linux abstract socket name (no file; gone with its process)."""
    return b"\0gateway-journal-%016x" % token


def _bound() -> tuple[socket.socket | None, int]:
    """A datagram socket bound to a new wake-up address, and its token; (None, 0) where there are no abstract
    socket names (not Linux): the writer then naps its whole time, and readers wait for it."""
    for _ in range(3):
        token = secrets.randbits(63) or 1
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(_address(token))
        except OSError:  # taken (63 random bits: never seen), or no abstract names here
            sock.close()
            continue
        sock.setblocking(False)
        return sock, token
    return None, 0


class LocalBoard:
    """No other process can write the database (an in-memory SQLite): nothing to post or wait for; entries
    are numbered by this process."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._woken = threading.Event()

    def post(self, enqueued: int, settled: int) -> None:
        return None

    def take(self, enqueued: int, settled: int, floor: Callable[[], int]) -> int:
        self._last = (floor() if self._last is None else self._last) + 1
        return self._last

    def nap(self, seconds: float) -> None:
        self._woken.wait(seconds)
        self._woken.clear()

    def wake(self, pids: Iterable[int]) -> None:
        self._woken.set()

    def others(self) -> dict[int, tuple[int, int]]:
        return {}

    def close(self) -> None:
        return None
