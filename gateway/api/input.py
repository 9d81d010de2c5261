"""Reading JSON bodies and query strings through marshmallow schemas, with errors that name the field."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from gateway.errors import InvalidRequestError, UnsupportedMediaTypeError
from gateway.registry.validation import validation_error



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
