"""Reading JSON bodies and query strings through marshmallow schemas, with errors that name the field."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from ..errors import InvalidRequestError, UnsupportedMediaTypeError


def all_problems(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (dotted.field.path, message) of marshmallow's nested error messages, in order."""
    if isinstance(messages, dict):
        return [p for key, value in messages.items() for p in all_problems(value, f"{path}.{key}" if path else str(key))]
    if isinstance(messages, list) and messages:
        return [p for item in messages for p in all_problems(item, path)]
    return [(path or "body", str(messages))]


def first_problem(messages: Any) -> tuple[str, str]:
    """The first (dotted.field.path, message) of marshmallow's nested error messages."""
    return all_problems(messages)[0]


def validation_error(exc: ValidationError) -> InvalidRequestError:
    field, message = first_problem(exc.normalized_messages())
    return InvalidRequestError(f"{field}: {message}", details={"field": field, "errors": exc.normalized_messages()})


def json_body(schema: Schema, *, optional: bool = False) -> Any:
    """The request's JSON body loaded by ``schema``; 415 if it is not JSON, 400 naming the field if invalid.

    With ``optional``, a request without a body loads as an empty object (every field's default).
    """
    if optional and not request.content_length and not request.headers.get("Transfer-Encoding"):
        data = {}
    else:
        if not request.is_json:
            raise UnsupportedMediaTypeError("Send a JSON body with Content-Type: application/json.")
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            raise InvalidRequestError("The body nests too deeply.", details={"field": "body"}) from None
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
