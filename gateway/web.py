"""Flask accessors of the web layer: the app's services, this request's facts on ``flask.g``, and its face
(from the blueprint that routed it; see gateway.faces)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request

from gateway import faces
from gateway.faces import Face
from gateway.facts import RequestFacts, of_environ
from gateway.status import status_line

if TYPE_CHECKING:
    # flask.Blueprint's base class: what app.blueprints holds and app.register_blueprint takes
    from flask.sansio.blueprints import Blueprint

    from gateway.services import Services

#: app.extensions key of the blueprint name -> face table.
FACES = "gateway.faces"


def services() -> Services:
    return current_app.extensions["gateway"]


def no_sniffing(response: Response) -> Response:
    """Every answer is the type it says (XML, JSON, the dashboard's files): browsers must not guess."""
    response.headers["X-Content-Type-Options"] = (
        "nosniff"  # (setdefault raises a KeyError inside when absent)
    )
    return response


def reason_phrase(response: Response) -> Response:
    """The status as common servers write it (``401 Unauthorized``), not werkzeug's ``401 UNAUTHORIZED``."""
    response.status = status_line(response.status_code)
    return response


def facts() -> RequestFacts:
    """This request's facts (on ``g``, and the same object in the WSGI environ for the middleware)."""
    found = g.get("facts")
    if found is None:
        found = g.facts = of_environ(request.environ)
    return found


def bind_facts() -> RequestFacts:
    """Put the middleware's record of this request on ``g`` (the first before_request hook does, once)."""
    found = g.facts = of_environ(request.environ)
    return found


def face(found: RequestFacts | None = None) -> Face:
    """This request's face, resolved once: its blueprint's, or for a URL no route answered its URL space's
    (``found``: this request's facts, when the caller holds them already)."""
    if found is None:
        found = facts()
    if found.face is None:
        blueprint = request.blueprint
        found.face = current_app.extensions[FACES][blueprint] if blueprint else faces.of_path(request.path)
    return found.face


def register_blueprints(app: Flask, blueprints: Iterable[tuple[Blueprint, Face]]) -> None:
    """Register blueprints with the face of their routes; every blueprint of the app must have one."""
    table = app.extensions.setdefault(FACES, {})
    for blueprint, face_of_routes in blueprints:
        if blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)
        table[blueprint.name] = face_of_routes
    missing = set(app.blueprints) - set(table)
    if missing:
        raise RuntimeError(f"blueprints without a face: {', '.join(sorted(missing))} (see gateway.faces)")
