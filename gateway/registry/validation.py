"""Loading plain data through marshmallow schemas, with errors that name the field (dotted paths)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, validate

from gateway.errors import InvalidRequestError


def all_problems(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (dotted.field.path, message) of marshmallow's nested error messages, in order."""
    if isinstance(messages, dict):
        return [
            p
            for key, value in messages.items()
            for p in all_problems(value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(messages, list) and messages:
        return [p for item in messages for p in all_problems(item, path)]
    return [(path or "body", str(messages))]


def first_problem(messages: Any) -> tuple[str, str]:
    """The first (dotted.field.path, message) of marshmallow's nested error messages."""
    return all_problems(messages)[0]


def validation_error(exc: ValidationError) -> InvalidRequestError:
    messages = exc.normalized_messages()  # untyped, but setup.cfg's untyped_calls_exclude allows marshmallow
    field, message = first_problem(messages)
    return InvalidRequestError(f"{field}: {message}", details={"field": field, "errors": messages})


def load_object(schema: Schema, data: Any) -> Any:
    """A JSON object already parsed (admin API, CLI) loaded by ``schema``; 400 naming the field if invalid."""
    if not isinstance(data, dict):
        raise InvalidRequestError("Send a JSON object.", details={"field": "body"})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


class FullMatch(validate.Regexp):
    """marshmallow's Regexp, matching the whole value: Regexp uses ``re.match``, where a pattern ending in
    ``$`` also accepts a value with a trailing newline (stored, it broke the XSD for every reader)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value
