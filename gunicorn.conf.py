"""gunicorn settings for `make run` and the end-to-end tests; GATEWAY_* variables override them."""

import multiprocessing
import os

wsgi_app = "wsgi:app"
bind = [os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")]
workers = int(os.environ.get("GATEWAY_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GATEWAY_THREADS", "1"))
worker_class = os.environ.get("GATEWAY_WORKER_CLASS", "sync" if threads == 1 else "gthread")
timeout = int(os.environ.get("GATEWAY_WORKER_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = 5
# A request line holds at most 100 ids and a token; keep gunicorn's limits generous but finite.
limit_request_line = 8190
accesslog = os.environ.get("GATEWAY_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("GATEWAY_LOG_LEVEL", "info")

certfile = os.environ.get("GATEWAY_TLS_CERT") or None
keyfile = os.environ.get("GATEWAY_TLS_KEY") or None
