"""gunicorn settings of `gateway serve` and the end-to-end tests; GATEWAY_* variables override them.

gunicorn loads this file by its path (``gunicorn -c /path/to/gateway/gunicorn_conf.py``, which is what
``gateway serve`` runs; ``gateway.serving.GUNICORN_CONF`` finds it): run that way, nothing of the gateway
is imported before the Prometheus directory below is set. Each worker builds the app
(``gateway:create_app()``).
"""

import gc
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

wsgi_app = "gateway:create_app()"
bind = [os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")]
workers = int(os.environ.get("GATEWAY_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
# Threaded workers (gthread): a live event stream (GET /api/v1/events) holds one thread for minutes, so a
# sync worker held by a stream would serve nobody else, and would be killed by the timeout below. A gthread
# worker keeps answering on its other threads; each serves at most GATEWAY_STREAMS_PER_WORKER streams (8 of
# its 16 threads by default) and answers more with 503 + Retry-After, so ordinary requests always find
# threads. Its heartbeat comes from the main loop, not from requests, so a long stream is not a hung worker.
# Ordinary requests still run one at a time per worker (GATEWAY_REQUESTS_PER_WORKER, see gateway/gate.py), as
# with sync workers: threads sharing one process tripled the p99 latency of the command API. Connections are
# kept alive (GATEWAY_KEEPALIVE seconds), each for at most GATEWAY_KEEPALIVE_REQUESTS requests: a kept
# connection stays with the worker that accepted it, and closing it now and then spreads the connections of
# a few busy clients over the workers again (gateway/worker.py; docs/performance.md has the figures).
# (gevent would need psycopg and sqlite3 to yield to its loop; neither does without extra patching.)
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
worker_class = os.environ.get("GATEWAY_WORKER_CLASS", "gthread")
if worker_class == "gthread":
    # gunicorn's gthread worker, answering the requests gunicorn refuses itself in the gateway's formats
    worker_class = "gateway.worker.GatewayWorker"
requests_per_worker = int(os.environ.get("GATEWAY_REQUESTS_PER_WORKER", "1"))
timeout = int(os.environ.get("GATEWAY_WORKER_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = int(os.environ.get("GATEWAY_KEEPALIVE", "5"))  # seconds; 0: close after each response
# A request line holds at most 100 ids and a token; keep gunicorn's limits generous but finite.
limit_request_line = 8190
accesslog = os.environ.get("GATEWAY_ACCESS_LOG", "-") or None  # empty: no access log
# The path without the query string (legacy clients send password=... there), and the request id.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)
errorlog = "-"


def logger_class():
    """gunicorn's logger, its lines in the gateway's format (GATEWAY_LOG_FORMAT, gateway/controls/logging.py):
    with json, every error and access line is a JSON object on stderr with a request_id. (A function: gunicorn
    calls it for the class, so nothing of the gateway is imported while this file loads.)"""
    from gunicorn.glogging import Logger  # type: ignore[import-untyped]  # gunicorn ships no types

    class GatewayLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            from gateway.controls.logging import configure_gunicorn

            configure_gunicorn(self, os.environ.get("GATEWAY_LOG_FORMAT", "json").strip().lower() or "json")

    return GatewayLogger


# gunicorn's control socket (gunicornc) has one default path per user, so a second gateway on the host would
# take over the first one's; off unless GATEWAY_CONTROL_SOCKET names a path of this gateway's own.
control_socket = os.environ.get("GATEWAY_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket
loglevel = os.environ.get("GATEWAY_LOG_LEVEL", "info")

certfile = os.environ.get("GATEWAY_TLS_CERT") or None
keyfile = os.environ.get("GATEWAY_TLS_KEY") or None

# Prometheus multiprocess mode: every worker writes its samples to files in this directory and a scrape
# of /metrics on any worker adds them up. Set here, before workers import prometheus_client.
_METRICS_DIR_OWNED = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _METRICS_DIR_OWNED:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gateway-metrics-")


def _redact_logs():
    import logging

    from gateway.worker import RedactSecrets

    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


def on_starting(server):
    """Samples of an earlier run must not count in this one; no secret in gunicorn's own log lines."""
    _redact_logs()
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def post_worker_init(worker):
    """Ordinary requests one at a time beside the streams (gthread), and streams that end when the worker
    stops (a graceful shutdown then takes no longer than a request)."""
    from gateway.api import streaming
    from gateway.body import BufferedBody
    from gateway.config import DEFAULTS
    from gateway.gate import RequestGate

    _redact_logs()
    # The gateway's settings; another WSGI app served with these settings (the benchmark's baseline, a test's
    # stub) gets the defaults.
    config = {**DEFAULTS, **getattr(worker.wsgi, "config", {})}
    worker.flask_app = worker.wsgi  # gunicorn's own error answers are rendered by the app (gateway/worker.py)
    worker.header_timeout = config["HEADER_TIMEOUT"]
    if worker_class.endswith("GatewayWorker") and threads > 1:
        worker.wsgi = RequestGate(worker.wsgi, requests_per_worker)
    # Bodies are read whole before the gate: a client that is slow to send its body holds one thread, never
    # the gate (gateway/body.py).
    worker.wsgi = BufferedBody(worker.wsgi, limit=config["FEED_MAX_BODY"], timeout=config["BODY_TIMEOUT"])
    streaming.worker_alive = lambda: worker.alive
    # The app is built: move what it allocated out of the garbage collector's sight, so the full collections
    # that requests trigger now and then scan only what requests allocate (a p99 matter).
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _METRICS_DIR_OWNED:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def worker_exit(server, worker):
    """The journal entries the worker's writer still holds are written before it ends (a graceful stop
    loses none; gateway/controls/journal.py)."""
    services = getattr(getattr(worker, "flask_app", None), "extensions", {}).get("gateway")
    if services is not None:
        services.controls.journal.close()
