"""Structured logs: one line per request on stderr (logger ``gateway.request``), with its request id, and
gunicorn's own error and access lines in the same form (GATEWAY_LOG_FORMAT=json, the default: one JSON
object a line, all on stderr; text: gunicorn's usual lines, the request log as key=value text).

Fields: time (UTC, ISO 8601), level, logger, message, request_id (on every line: null outside a request),
method, path (never the query string: legacy clients put passwords there), face, action, status,
duration_ms, account, fault; gunicorn's access lines: remote_addr, method, path, protocol, status, bytes,
referer, user_agent, duration_ms. GATEWAY_REQUEST_LOG=false silences the request log. The secret-masking
filter of gateway/worker.py runs on gunicorn's loggers before any of these formatters.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_LOGGER = "gateway.request"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:+/=-]{1,128}$")
#: The request id of the request this thread (or task) is serving: what gunicorn's error lines are tagged
#: with (set by the controls middleware as a request starts).
_current_request_id: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)


def bind_request_id(rid: str | None) -> None:
    """The request id every log line of this thread carries until the next request (None: outside one)."""
    _current_request_id.set(rid)


def current_request_id() -> str | None:
    return _current_request_id.get()


def request_id(given: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(16).hex()


#: gunicorn's access-log atoms a JSON access line carries, by field name (those of the text line: never the
#: query string or a request header).
_ACCESS_ATOMS = {
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "protocol": "H",
    "status": "s",
    "bytes": "B",
    "referer": "f",
    "user_agent": "a",
}


def _access_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """The fields of a gunicorn access line (its arguments are the atoms), None for any other record or once
    the secret filter rewrote it (its arguments are gone then, the masked message stays)."""
    atoms = record.args
    if record.name != "gunicorn.access" or not isinstance(atoms, dict):
        return None
    fields: dict[str, Any] = {name: atoms.get(atom) for name, atom in _ACCESS_ATOMS.items()}
    for name in ("status", "bytes"):
        value = fields[name]
        fields[name] = int(value) if isinstance(value, str) and value.isdigit() else value
    micros = str(atoms.get("D"))
    fields["duration_ms"] = round(int(micros) / 1000, 3) if micros.isdigit() else None
    rid = atoms.get("{x-request-id}o")
    fields["request_id"] = rid if rid and rid != "-" else None
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object a line; every line has a request_id (null outside a request)."""

    def format(self, record: logging.LogRecord) -> str:
        access = _access_fields(record)
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": "access" if access is not None else record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            **(access or {}),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """GATEWAY_LOG_FORMAT=text: time, level, logger, message, then the fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = getattr(record, "fields", {})
        pairs = " ".join(f"{key}={json.dumps(value, default=str)}" for key, value in fields.items())
        line = f"{time} [{record.levelname}] {record.name} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RequestIdFilter(logging.Filter):
    """Tags a record with the request id of the request its thread serves (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def configure_gunicorn(glogger: Any, fmt: str) -> None:
    """gunicorn's error and access loggers in the gateway's format (called by the gunicorn settings' logger
    class each time gunicorn sets up its handlers). JSON lines all go to stderr: one stream."""
    if fmt not in FORMATTERS:
        from gateway.config import ConfigError

        raise ConfigError(f"GATEWAY_LOG_FORMAT must be json or text, not {fmt!r}")
    for log in (glogger.error_log, glogger.access_log):
        if not any(isinstance(f, RequestIdFilter) for f in log.filters):
            log.addFilter(RequestIdFilter())
        if fmt != "json":
            continue
        for handler in log.handlers:
            if not getattr(handler, "_gunicorn", False):
                continue
            handler.setFormatter(JsonFormatter())
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def request_logger(fmt: str = "json") -> logging.Logger:
    """The request logger, with its stderr handler attached once per process (in the format ``fmt``)."""
    logger = logging.getLogger(REQUEST_LOGGER)
    handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # Flask's "gateway" logger would print it again as text
    if type(handler.formatter) is not FORMATTERS[fmt]:
        handler.setFormatter(FORMATTERS[fmt]())
    return logger


def log_request(fields: dict, fmt: str = "json") -> None:
    request_logger(fmt).info("request", extra={"fields": fields})
