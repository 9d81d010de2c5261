"""``Out``: the base of the schemas that shape what the gateway writes as JSON (gateway.registry.documents).

One declaration both dumps domain objects and documents them (the JSON face's OpenAPI document).
marshmallow's general ``dump`` costs about 6 us an object, and the write path dumps every event it
appends into the change log (the old hand-built dicts took 0.3 us); so an ``Out`` dumps through a
function generated once from its declared fields, as :mod:`dataclasses` generates ``__init__``. It gives
what marshmallow's own dump gives (tests/registry/test_documents.py checks) for the fields it knows;
other fields go through marshmallow's ``Field.serialize``.

An ``Out`` leaves keys out with ``omit_none`` / ``omit_empty``, adjusts each dumped object in
:meth:`Out.shape` (it has no other dump hooks), and may override ``get_attribute`` to read values from
elsewhere than the object's own attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from keyword import iskeyword
from operator import attrgetter
from typing import Any, Literal

from marshmallow import Schema, fields, missing, post_dump

#: Fields whose dumped value is the value itself (the domain holds it in its JSON type already), as long as
#: the field keeps their ``_serialize``.
_AS_IS = (fields.String, fields.Integer, fields.Boolean, fields.Raw)

Convert = Callable[[Any], Any]


class Out(Schema):
    #: Keys left out of a dumped object when their value is None, or when it is empty (None, "", 0, []).
    omit_none: tuple[str, ...] = ()
    omit_empty: tuple[str, ...] = ()

    def shape(self, data: dict[str, Any], obj: Any) -> dict[str, Any]:
        """One dumped object, adjusted: override to leave out what ``obj`` does not have."""
        return data

    @post_dump(pass_original=True)
    def _shape(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        for key in self.omit_none:
            if key in data and data[key] is None:
                del data[key]
        for key in self.omit_empty:
            if key in data and not data[key]:
                del data[key]
        return self.shape(data, original)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        one = self.dumper()
        if self.many if many is None else many:
            return [one(item) for item in obj]
        return one(obj)

    def dumper(self) -> Callable[[Any], Any]:
        """The function that dumps one object (built on first use, again if the fields change: a Nested
        field copies its schema and may narrow it with only/exclude)."""
        built = self.__dict__.get("_built")
        if built is None or built[0] is not self.dump_fields:
            built = self._built = (self.dump_fields, self._build())
        return built[1]

    def _build(self) -> Callable[[Any], Any]:
        custom_access = type(self).get_attribute is not Schema.get_attribute
        names: dict[str, Any] = {"generic": super().dump, "shape": self.shape, "missing": missing}
        each = ["def each(obj):", "    out = {}"]  # field by field: leaves out attributes obj lacks
        literal: list[str] | None = []  # one dict display, while every field is a plain attribute
        for index, (name, field) in enumerate(self.dump_fields.items()):
            key, attr, convert = field.data_key or name, field.attribute or name, _converter(field)
            value = "value"
            if convert is False or field.dump_default is not missing:
                names[f"serialize_{index}"] = _serializer(self, field, attr)
                each.append(f"    value = serialize_{index}(obj)")
                literal, convert = None, None
            elif custom_access:
                names[f"get_{index}"] = _getter(self, attr)
                each.append(f"    value = get_{index}(obj)")
                literal = None
            elif all(part.isidentifier() and not iskeyword(part) for part in attr.split(".")):
                each += [
                    "    try:",
                    f"        value = obj.{attr}",
                    "    except AttributeError:",
                    "        value = missing",
                ]
                value = f"obj.{attr}"
            else:
                names[f"get_{index}"] = _reader(attr)
                each.append(f"    value = get_{index}(obj)")
                literal = None
            if convert is not None:
                names[f"convert_{index}"] = convert
            dumped = "value" if convert is None else f"(value if value is None else convert_{index}(value))"
            each += ["    if value is not missing:", f"        out[{key!r}] = {dumped}"]
            if literal is not None:
                shown = (
                    value
                    if convert is None
                    else f"(None if (value := {value}) is None else convert_{index}(value))"
                )
                literal.append(f"{key!r}: {shown}")
        each.append("    return out")
        lines = [
            "def one(obj):",
            "    if isinstance(obj, dict):",
            "        return generic(obj, many=False)  # marshmallow reads keys (rare)",
        ]
        if literal is None:
            lines.append("    out = each(obj)")
        else:
            lines += [
                "    try:",
                f"        out = {{{', '.join(literal)}}}",
                "    except AttributeError:",
                "        out = each(obj)",
            ]
        for key in self.omit_none:
            lines += [f"    if out.get({key!r}, 0) is None:", f"        del out[{key!r}]"]
        for key in self.omit_empty:
            lines += [f"    if {key!r} in out and not out[{key!r}]:", f"        del out[{key!r}]"]
        lines.append("    return out" if type(self).shape is Out.shape else "    return shape(out, obj)")
        # Source built above from the declared fields' names only.
        exec("\n".join(each + lines), names)
        one: Callable[[Any], Any] = names["one"]
        return one


def _serializer(schema: Schema, field: fields.Field[Any], attr: str) -> Callable[[Any], Any]:
    return lambda obj: field.serialize(attr, obj, accessor=schema.get_attribute)


def _getter(schema: Schema, attr: str) -> Callable[[Any], Any]:
    return lambda obj: schema.get_attribute(obj, attr, missing)


def _reader(attr: str) -> Callable[[Any], Any]:
    read = attrgetter(attr)

    def get(obj: Any) -> Any:
        try:
            return read(obj)
        except AttributeError:
            return missing

    return get


def _converter(field: fields.Field[Any]) -> Convert | Literal[False] | None:
    """How a non-null value of ``field`` dumps: None (as it is), a function, or False (marshmallow decides)"""
    if isinstance(field, fields.Nested):
        schema = field.schema
        if field.many:
            return lambda value: schema.dump(value, many=True)
        return schema.dumper() if isinstance(schema, Out) else schema.dump
    if isinstance(field, fields.List):
        inner = _converter(field.inner)
        if inner is False:
            return False
        return list if inner is None else (lambda value: [None if v is None else inner(v) for v in value])
    if isinstance(field, fields.Enum):
        return (lambda value: value.value) if field.by_value else (lambda value: value.name)
    if type(field) is fields.Dict and field.key_field is None and field.value_field is None:
        return dict
    if any(isinstance(field, kind) and type(field)._serialize is kind._serialize for kind in _AS_IS):
        return None
    return False
