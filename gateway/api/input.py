"""How the JSON face reads requests: webargs (under flask-smorest's ``@blp.arguments``) with the face's rules.

- A JSON body must come as JSON (else 415) and parse (else 400); a body declared optional
  (``required=False``) may be left out and then loads as ``{}`` (every field's default).
- A query string goes to its schema as it came (repeated keys: the schema decides, via ``many`` fields).
- Every refusal is an InvalidRequestError (400) naming the field, as gateway.http_errors renders it;
  webargs' 422 and flask-smorest's error body never reach a client.
"""

from __future__ import annotations

from typing import Any, NoReturn, cast

from flask import Request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser

from gateway.errors import InvalidRequestError, UnsupportedMediaTypeError
from gateway.registry.validation import validation_error

#: The location of a JSON body that may be left out.
OPTIONAL_JSON = "optional_json"


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400
    # (noqa: RUF012 below: webargs declares both without ClassVar, and mypy refuses a ClassVar override.)
    #: Each schema decides what unknown keys mean (the query schemas refuse them, naming them).
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {}  # noqa: RUF012
    __location_map__ = {**FlaskParser.__location_map__, OPTIONAL_JSON: "load_optional_json"}  # noqa: RUF012

    def load_json(self, req: Request, schema: Schema) -> Any:
        if not req.is_json:
            raise UnsupportedMediaTypeError("Send a JSON body with Content-Type: application/json.")
        try:
            data = req.get_json(silent=True)
        except RecursionError:
            raise InvalidRequestError("The body nests too deeply.", details={"field": "body"}) from None
        if data is None:
            raise InvalidRequestError("The body is not valid JSON.", details={"field": "body"})
        return data

    def load_optional_json(self, req: Request, schema: Schema) -> Any:
        if not req.content_length and not req.headers.get("Transfer-Encoding"):
            return {}
        return self.load_json(req, schema)

    def load_querystring(self, req: Request, schema: Schema) -> Any:
        return req.args

    def handle_error(
        self,
        error: ValidationError,
        req: Request,
        schema: Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        # webargs files them under the location's name: a dict, always
        (messages,) = cast(dict[str, Any], error.messages).values()
        raise validation_error(ValidationError(messages, field_name=error.field_name)) from None
