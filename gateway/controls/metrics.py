"""Prometheus metrics at ``/metrics``: requests by face, action and status, latency histograms, faults
fired, live event streams open, the build, and the connected clients by type (counted from the store at
each scrape; while the database is down the scrape still answers, with ``gateway_database_up 0``).

Under gunicorn, gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh directory, so every worker
writes its samples there and a scrape on any worker adds them all up (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, Response, current_app
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.errors import NotFoundError, StorageUnavailableError
from gateway.registry.model import CLIENT_TYPES
from gateway.web import services

disable_created_metrics()  # no *_created series: they only add noise to every scrape

REQUESTS = Counter(
    "gateway_requests", "Requests answered, by face, action and status.", ["face", "action", "status"]
)
LATENCY = Histogram(
    "gateway_request_duration_seconds",
    "Time to answer a request, by face and action.",
    ["face", "action"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

FAULTS = Counter(
    "gateway_faults_fired",
    "Injected faults that fired, by what they did (error, drop, truncate, rate_limit, latency).",
    ["kind"],
)
#: Summed over the live workers (gunicorn: every worker's own count, from the multiprocess files).
STREAMS = Gauge(
    "gateway_active_streams", "Live event streams open (GET /api/v1/events).", multiprocess_mode="livesum"
)
DISTRIBUTION = "connected-clients-gateway"

blueprint = Blueprint("metrics", __name__)


@blueprint.record_once
def _count_streams(state) -> None:
    """The app's stream slots move the gauge as streams open and close."""
    gateway = state.app.extensions.get("gateway")
    if gateway is not None:
        gateway.streams.gauge = STREAMS


def faults_fired(kind: str, rules: int) -> None:
    FAULTS.labels(kind).inc(rules)


def build_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


_children: dict = {}


def observe(face: str, action: str, status: int | None, seconds: float) -> None:
    """Count a request and its latency (label children are looked up once per label set: bounded labels)."""
    key = (face, action, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (
            REQUESTS.labels(face, action, "dropped" if status is None else str(status)),
            LATENCY.labels(face, action),
        )
    children[0].inc()
    children[1].observe(seconds)


class ConnectedClients:
    """A collector that counts connected clients by type when scraped."""

    def __init__(self, store):
        self.store = store

    def collect(self):
        try:
            counts = self.store.count_clients_by_type()
        except StorageUnavailableError:
            counts = None  # the scrape still answers: the process metrics matter most in an outage
        yield GaugeMetricFamily(
            "gateway_database_up", "Whether the database answered this scrape.", value=int(counts is not None)
        )
        if counts is None:
            return
        family = GaugeMetricFamily(
            "gateway_connected_clients", "Connected clients by client type.", labels=["type"]
        )
        for ctype in CLIENT_TYPES:
            family.add_metric([ctype.value], counts.get(ctype.value, 0))
        yield family


class BuildInfo:
    """gateway_build_info: the gateway's version and the Python it runs on, as labels of a constant 1."""

    def collect(self):
        family = GaugeMetricFamily(
            "gateway_build_info", "The gateway's build.", labels=["version", "python", "namespace"]
        )
        family.add_metric(
            [build_version(), platform.python_version(), current_app.config["NAMESPACE_URI"]], 1
        )
        yield family


def exposition(store) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    clients = CollectorRegistry(auto_describe=False)
    clients.register(BuildInfo())
    clients.register(ConnectedClients(store))
    return body + generate_latest(clients)


@blueprint.route("/metrics", methods=["GET"])
def metrics():
    if not current_app.config["METRICS"]:
        raise NotFoundError("Metrics are disabled on this gateway (GATEWAY_METRICS=false).")
    return Response(exposition(services().store.registry), content_type=CONTENT_TYPE_LATEST)
