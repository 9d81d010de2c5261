"""The face of a request comes from its blueprint; the URL table in gateway.faces (for requests no route
answered, and the gate) must say the same for every route."""

from __future__ import annotations

from gateway import faces
from gateway.web import FACES


def test_every_route_has_its_blueprints_face_by_path_too(app):
    table = app.extensions[FACES]
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if rule.endpoint == "static":  # Flask's own route (no static folder: always 404), in no blueprint
            assert faces.of_path(rule.rule) == faces.APPLIANCE
            continue
        assert blueprint in table, f"{rule.rule}: endpoint {rule.endpoint} is not in a registered blueprint"
        assert faces.of_path(rule.rule) == table[blueprint], rule.rule


def test_the_gate_passes_exactly_the_streaming_routes(app):
    """The event stream and the journal's long poll: both hold a thread for long."""
    long = ("events.events", "admin.journal_wait")
    streams = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in long}
    assert streams == faces.STREAM_PATHS
