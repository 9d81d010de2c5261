"""Probes for compose and Kubernetes: ``/livez`` (liveness: the process answers, no database; ``/healthz``
is its older name) and ``/readyz`` (readiness: the database answers and its schema is at the newest
revision)."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, current_app

from gateway.storage import migrate
from gateway.web import services

blueprint = Blueprint("health", __name__)


@lru_cache(maxsize=1)
def _head() -> str:
    return migrate.head_revision()


@blueprint.route("/livez", methods=["GET"])
@blueprint.route("/healthz", methods=["GET"])
def livez():
    return {"status": "ok"}


@blueprint.route("/readyz", methods=["GET"])
def readyz():
    store = services().store
    try:
        store.ping()
        revision = migrate.current_revision(store)
    except Exception:
        current_app.logger.warning("readiness check: the database is unavailable", exc_info=True)
        return {"status": "unavailable", "reason": "the database is unavailable"}, 503
    if revision != _head():
        reason = (
            f"the database schema is at revision {revision or 'none'}, not {_head()}: run gateway db upgrade"
        )
        return {"status": "unavailable", "reason": reason, "schema": revision}, 503
    return {"status": "ready", "schema": revision}
