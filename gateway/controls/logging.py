"""Structured logs: one JSON line per request on stderr (logger ``gateway.request``), with its request id.

Fields: time (UTC, ISO 8601), level, logger, message, request_id, method, path (never the query
string: legacy clients put passwords there), face, action, status, duration_ms, account, fault.
GATEWAY_REQUEST_LOG=false silences it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

REQUEST_LOGGER = "gateway.request"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:+/=-]{1,128}$")


def request_id(given: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(16).hex()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def request_logger() -> logging.Logger:
    """The request logger, with its JSON handler attached once per process."""
    logger = logging.getLogger(REQUEST_LOGGER)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # Flask's "gateway" logger would print it again as text
    return logger


def log_request(fields: dict) -> None:
    request_logger().info("request", extra={"fields": fields})
