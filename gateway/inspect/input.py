"""Reading JSON bodies and query strings through marshmallow schemas, with errors that name the field."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from ..errors import InvalidRequestError, UnsupportedMediaTypeError


def _first_problem(messages: Any, path: str = "") -> tuple[str, str]:
    """The first (dotted.field.path, message) of marshmallow's nested error messages."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_problem(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages:
        return _first_problem(messages[0], path)
    return path or "body", str(messages)


def validation_error(exc: ValidationError) -> InvalidRequestError:
    field, message = _first_problem(exc.normalized_messages())
    return InvalidRequestError(f"{field}: {message}", details={"field": field, "errors": exc.normalized_messages()})


def json_body(schema: Schema) -> Any:
    """The request's JSON body loaded by ``schema``; 415 if it is not JSON, 400 naming the field if invalid."""
    if not request.is_json:
        raise UnsupportedMediaTypeError("Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidRequestError("The body is not valid JSON.", details={"field": "body"})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def query(schema: Schema) -> Any:
    """The query string loaded by ``schema`` (repeated keys: the schema decides, via ``many`` fields)."""
    try:
        return schema.load(request.args)
    except ValidationError as exc:
        raise validation_error(exc) from None


def load_object(schema: Schema, data: Any) -> Any:
    """A JSON object already parsed (admin API, CLI) loaded by ``schema``; 400 naming the field if invalid."""
    if not isinstance(data, dict):
        raise InvalidRequestError("Send a JSON object.", details={"field": "body"})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
