"""A small TCP proxy (threads, loopback only) to stage database outages without touching the server.

``cut()`` is a stopped server: open connections close and new ones are refused. ``blackhole()`` is a
server that accepts connections and never answers (a hung host or a silent network). ``restore()``
forwards again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = "forward"
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    # --- control --------------------------------------------------------------------------------
    def start(self, mode: str = "forward") -> TcpProxy:
        self.mode = mode
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Refuse new connections and close the open ones, as a stopped server does."""
        self._stop_listening()
        self._close_connections()

    def blackhole(self) -> None:
        """Close the open connections; accept new ones but never forward a byte."""
        self.cut()
        self.start("blackhole")

    def restore(self) -> None:
        self.cut()
        self.start("forward")

    def close(self) -> None:
        self.cut()

    # --- internals ------------------------------------------------------------------------------
    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the accepting thread
            listener.close()

    def _close_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self, listener: socket.socket) -> None:
        mode = self.mode
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            self._track(client)
            if mode == "blackhole":
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            self._track(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
