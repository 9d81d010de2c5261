"""The error body every JSON answer of the face shares (rendered by gateway.http_errors)."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorOut(Schema):
    error = fields.String(required=True, metadata={"description": "A short code, e.g. invalid_request, not_found."})
    message = fields.String(required=True, metadata={"description": "What went wrong; a 400 starts with the field."})
    details = fields.Dict(metadata={"description": "e.g. {\"field\": \"page_size\"}: the offending field."})
