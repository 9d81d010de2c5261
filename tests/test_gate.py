"""The request gate of gthread workers: ordinary requests one at a time (until their body is closed), event
streams beside them, and the gate always reopens (errors, hang-ups)."""

from __future__ import annotations

import threading

import pytest

from gateway.gate import RequestGate


class App:
    """A WSGI app that records which requests run at once and can be told to fail."""

    def __init__(self):
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("fail"):
            raise RuntimeError("boom")
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        start_response("200 OK", [])
        return Body(self)


class Body(list):
    def __init__(self, app):
        super().__init__([b"x"])
        self.app = app

    def close(self):
        with self.app.lock:
            self.app.running -= 1


def request(gate, path="/api/command", **extra):
    return gate({"PATH_INFO": path, **extra}, lambda status, headers: None)


def test_ordinary_requests_wait_until_the_body_before_them_is_closed():
    app = App()
    gate = RequestGate(app)
    first = request(gate)
    started = threading.Event()
    second = []

    def run():
        started.set()
        second.append(request(gate))

    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    thread.join(timeout=0.2)
    assert thread.is_alive() and not second, "the second request ran while the first body was open"
    first.close()
    thread.join(timeout=5)
    assert second and app.most == 1
    second[0].close()
    second[0].close()  # closing twice opens the gate once
    request(gate).close()


def test_streams_pass_beside_the_gate():
    app = App()
    gate = RequestGate(app)
    held = request(gate)
    streams = [request(gate, "/api/v1/events") for _ in range(3)]
    assert app.most == 4
    for body in [*streams, held]:
        body.close()


def test_an_error_reopens_the_gate():
    gate = RequestGate(App())
    with pytest.raises(RuntimeError):
        request(gate, fail=True)
    request(gate).close()


def test_long_work_passes_beside_ordinary_requests_one_at_a_time():
    """An import holds its own slot: an ordinary request is served while it runs, a second import waits."""
    app = App()
    gate = RequestGate(app)
    importing = request(gate, "/api/v1/import/xml")
    ordinary = request(gate)
    assert app.running == 2
    waiting = []
    second = threading.Thread(target=lambda: waiting.append(request(gate, "/api/v1/admin/reset")))
    second.start()
    second.join(0.2)  # a bounded look: the thread must still be waiting at the gate
    assert second.is_alive() and not waiting
    importing.close()
    second.join(10)
    assert waiting and app.running == 2
    ordinary.close()
    waiting[0].close()
    assert app.running == 0


def test_an_app_may_open_the_gate_before_its_body_is_closed():
    """The controls' middleware opens the gate once the answer is made (GATE_RELEASE), before it waits for
    the journal: the next request runs meanwhile, and closing the body later does not open it twice."""
    from gateway.facts import GATE_RELEASE

    app = App()
    gate = RequestGate(app)
    environ = {"PATH_INFO": "/api/command"}
    first = gate(environ, lambda status, headers: None)
    environ[GATE_RELEASE]()
    second = request(gate)  # would wait forever if the gate were still closed
    assert app.running == 2
    environ[GATE_RELEASE]()
    first.close()  # the gate opened once for the first request: a BoundedSemaphore would raise otherwise
    second.close()
    request(gate).close()
