"""The blueprints of the JSON face: flask-smorest's, reading requests with the face's parser
(gateway.api.input) and documenting what every operation may answer besides its own answer."""

from __future__ import annotations

import http
from collections.abc import Callable
from copy import deepcopy
from typing import Any, ClassVar

# flask-smorest ships no type information (no py.typed, no stubs package).
import flask_smorest  # type: ignore[import-untyped]
from flask_smorest.utils import deepupdate  # type: ignore[import-untyped]

from gateway.api.input import OPTIONAL_JSON, Parser

OPTIONAL_BODY_NOTE = "The body may be left out (every field takes its default)."


def response_name(status: int) -> str:
    """The name of the shared response component of an error status (see gateway.api.openapi)."""
    return http.HTTPStatus(status).name


def annotate(view: Callable, change: Callable[[dict], Any]) -> Callable:
    """``view`` with ``change`` made to its documentation (flask-smorest's ``_apidoc``), without wrapping it
    (flask-smorest's ``doc`` and ``alt_response`` add a call to every request)."""
    apidoc: dict[str, Any] = deepcopy(getattr(view, "_apidoc", {}))  # wrappers share their view's dict
    view._apidoc = apidoc  # type: ignore[attr-defined]  # flask-smorest reads a function attribute
    change(apidoc)
    return view


def described(**doc: Any) -> Callable[[Callable], Callable]:
    """Like flask-smorest's ``@blp.doc``: ``doc`` merged into the operation's documentation."""

    def merge(apidoc: dict) -> None:
        apidoc["manual_doc"] = deepupdate(apidoc.get("manual_doc", {}), deepcopy(doc))

    return lambda view: annotate(view, merge)


def errors(*statuses: int) -> Callable[[Callable], Callable]:
    """Document error answers (the shared Error body) the decorated view may give."""

    def add(apidoc: dict) -> None:
        responses = apidoc.setdefault("response", {}).setdefault("responses", {})
        for status in statuses:
            responses.setdefault(status, []).append(response_name(status))

    return lambda view: annotate(view, add)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        OPTIONAL_JSON: "application/json",
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_method_doc)

    def arguments(
        self, schema: Any, *, location: str = "json", required: bool = True, **kwargs: Any
    ) -> Callable:
        """``@blp.arguments``; a JSON body may be refused as too large (413) or not JSON (415), and with
        ``required=False`` it may be left out."""
        if location != "json":
            return super().arguments(schema, location=location, required=required, **kwargs)
        if not required:
            location = OPTIONAL_JSON
            kwargs.setdefault("description", OPTIONAL_BODY_NOTE)
        read = super().arguments(schema, location=location, required=required, **kwargs)
        return lambda view: errors(413, 415)(read(view))

    def response(self, status_code: int, schema: Any = None, **kwargs: Any) -> Callable:
        """``@blp.response``; a ``schema`` given as a JSON Schema dict only documents answers the view makes
        itself (a dict passed on as it is, or a Response)."""
        if not isinstance(schema, dict):
            return super().response(status_code, schema, **kwargs)
        content_type = kwargs.pop("content_type", None) or "application/json"
        answer = super().response(status_code, **kwargs)
        content = described(responses={status_code: {"content": {content_type: {"schema": schema}}}})
        return lambda view: content(answer(view))

    def register_views_in_doc(self, api: Any, app: Any, spec: Any, *, name: str, parameters: Any) -> None:
        """Later: when the Api builds its document (gateway.api.openapi.JsonApi.document)."""
        describe = super().register_views_in_doc
        api.defer(lambda: describe(api, app, spec, name=name, parameters=parameters))

    @staticmethod
    def _prepare_method_doc(doc: dict, doc_info: dict, **_kwargs: Any) -> dict:
        """Any operation may meet a method it does not allow (405)."""
        doc.setdefault("responses", {}).setdefault(405, response_name(405))
        return doc
