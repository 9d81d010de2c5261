"""Parameter schemas of the command actions (marshmallow), and how a request's parameters are gathered.

Parameters come from the query string and an urlencoded body, both at once if the client likes.
A list parameter given several times is the union of its values (``id=1&id=2`` = ``id=1,2``); a
scalar given twice with different values is an error. Unknown parameters are ignored, as an
appliance does. Empty values count as absent.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load
from werkzeug.datastructures import MultiDict

from gateway.errors import ParameterError
from gateway.registry.model import ALL_CLIENT_TYPES, CLIENT_TYPES, MAX_CLIENT_ID, ClientQuery, ClientType

MAX_IDS = 100
ALL = "all"
TYPE_NAMES = (ALL, *(ct.value for ct in CLIENT_TYPES))


def _items(value) -> list[str]:
    if not isinstance(value, str):
        raise ValidationError("must be a comma-separated list")
    return [item.strip() for item in value.split(",") if item.strip()]


class ClientTypes(fields.Field):
    """``all`` (default) or a comma list of client types; returns (set of types, whether ``all`` was
    asked)."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = _items(value)
        unknown = [item for item in items if item not in TYPE_NAMES]
        if unknown:
            raise ValidationError(
                f"unknown client type {unknown[0]!r}; use a comma-separated list of {', '.join(TYPE_NAMES)}"
            )
        if not items or ALL in items:
            return ALL_CLIENT_TYPES, True
        # Listing the four types is not "all": pinned clients are counted only for type=all.
        return frozenset(ClientType(item) for item in items), False


class ClientIds(fields.Field):
    """A comma list of at most 100 client ids (integers 1..2147483647)."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = _items(value)
        if len(items) > MAX_IDS:
            raise ValidationError(f"at most {MAX_IDS} ids are supported, {len(items)} were given")
        ids = []
        for item in items:
            # digits are counted before int(): Python refuses to convert more than 4,300 of them (a 500)
            digits = item.lstrip("0") if item.isascii() and item.isdigit() else ""
            if not digits or len(digits) > len(str(MAX_CLIENT_ID)) or int(digits) > MAX_CLIENT_ID:
                raise ValidationError(
                    f"{item[:40]!r} is not a client id (an integer from 1 to {MAX_CLIENT_ID})"
                )
            ids.append(int(digits))
        return tuple(sorted(set(ids))) if ids else None


class ZeroOrOne(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("0", "1"):
            return value == "1"
        raise ValidationError(f"must be 0 or 1, not {str(value)[:40]!r}")


class ActionParams(Schema):
    class Meta:
        unknown = EXCLUDE

    #: Parameters that may be given several times or as comma lists.
    list_params: tuple[str, ...] = ()
    #: Prefixes of parameters whose names are data (``session.custom.<code name>``): gathered with their
    #: empty values (an empty attribute value clears it).
    prefix_params: tuple[str, ...] = ()


class ConnectedClientsParams(ActionParams):
    list_params = ("type", "id")
    types = ClientTypes(data_key="type", load_default=None)
    ids = ClientIds(data_key="id", load_default=None)
    include_connections = ZeroOrOne(load_default=False)

    @post_load
    def to_query(self, data, **kwargs) -> ClientQuery:
        types, _ = data["types"] or (ALL_CLIENT_TYPES, True)
        return ClientQuery(types=types, ids=data["ids"], include_connections=data["include_connections"])


class ConnectedClientListParams(ActionParams):
    list_params = ("type",)
    types = ClientTypes(data_key="type", load_default=None)
    summary_only = ZeroOrOne(load_default=False)

    @post_load
    def to_query(self, data, **kwargs) -> dict:
        types, all_types = data["types"] or (ALL_CLIENT_TYPES, True)
        return {
            "query": ClientQuery(types=types),
            "summary_only": data["summary_only"],
            "include_pinned": all_types,
        }


class NoParams(ActionParams):
    pass


def gather(values: MultiDict, schema: ActionParams) -> dict[str, str]:
    """Flatten a request's parameters for ``schema``: list parameters joined, scalars checked for
    conflicts."""
    known = {f.data_key or name for name, f in schema.fields.items()}
    flat: dict[str, str] = {}
    for key in values:
        if key not in known:
            if schema.prefix_params and key.startswith(schema.prefix_params):
                given = list(dict.fromkeys(values.getlist(key)))
                if len(given) > 1:
                    raise ParameterError(
                        f"Parameter {key[:80]!r} was given more than once with different values."
                    )
                flat[key] = given[0]
            continue
        given = [v for v in values.getlist(key) if v != ""]
        if not given:
            continue
        if key in schema.list_params:
            flat[key] = ",".join(given)
        elif len(set(given)) > 1:
            raise ParameterError(f"Parameter {key!r} was given more than once with different values.")
        else:
            flat[key] = given[0]
    return flat


def load(schema: ActionParams, values: MultiDict):
    """The loaded parameters (read only) of a request. Integrations poll with the same few parameter sets
    over and over, and inventory adapters walk a population id by id, so a load is remembered by its
    gathered parameters (the schemas are pure functions of them): marshmallow validates each distinct set
    once per worker, for the last MEMO_SIZE sets; errors are not remembered. Only sets of at most MEMO_TEXT
    characters are remembered, so the memo stays within about MEMO_SIZE x 1 KB whatever clients send (keyed on
    any parameters, 200 requests with 700 KB type lists took a worker from 307 MB to 1.2 GB)."""
    gathered = tuple(gather(values, schema).items())
    if sum(len(value) for _, value in gathered) > MEMO_TEXT:
        return _load_gathered.__wrapped__(schema, gathered)
    return _load_gathered(schema, gathered)


MEMO_SIZE = 16384
#: The longest parameter text a remembered set holds: a single id, a few ids or types, a summary flag.
MEMO_TEXT = 256


@lru_cache(maxsize=MEMO_SIZE)
def _load_gathered(schema: ActionParams, gathered: tuple[tuple[str, str], ...]):
    try:
        loaded = schema.load(dict(gathered))
    except ValidationError as exc:
        key, messages = next(iter(exc.normalized_messages().items()))
        message = messages[0] if isinstance(messages, list) else messages
        raise ParameterError(f"Invalid value for parameter {key!r}: {message}.") from None
    return MappingProxyType(loaded) if isinstance(loaded, dict) else loaded
