"""A schema's load and dump compiled once into plain Python, giving exactly what marshmallow gives for the
values every event carries, at a tenth of the cost; marshmallow itself decides everything else.

marshmallow's `Schema.load` spends most of its time in its own machinery (an error store, a closure and a
`_call_and_store` per field, `And` around the validators), not in the fields' conversions. A `Codec` walks
the schema's fields in the same order and calls the same pieces marshmallow calls: each field's own
`_deserialize`/`_serialize`, then its own validators (the common ones, `Length`, `Range`, `OneOf` and `Regexp`,
written out as the comparisons they make). What the codec does itself is only the bookkeeping
around them: a missing key (its `load_default`, or refusal when required), `None` (`allow_none`), keys the
schema does not know (`unknown`), and the recursion into `List` and `Nested`.

It never reports an error of its own: `load` raises `Unsure` whenever the data is not the plain valid kind
(a value refused, a required key missing, an unknown key, anything it does not model), and the caller then
asks `Schema.load`, which gives the result or the exact errors. So a value the codec returns is the value
`Schema.load` would return, and it is the only thing the codec claims. `codec(schema)` is `None` for a schema
whose behaviour is not only its fields' (hooks, `validates`, a custom `get_attribute`, `INCLUDE`, dotted
attributes); callers then use marshmallow as before. `tests/unit/runtime/test_schema_codec.py` compares
the two on every contract of the registry, with valid and mutated data.

`load_dump` is the load and the dump of data a producer builds from its own typed values (each field's value of
the kind the field loads as it is), in one pass: the same validators, the same `Unsure` for anything else.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate
from marshmallow.utils import missing

from runtime.jsoncodec import isoformat

__all__ = ["Codec", "Unsure", "codec"]


class Unsure(Exception):
    """The codec does not decide this input: ask `Schema.load`."""


class Codec:
    """`load(data)` and `dump(obj)` of one schema, compiled, and `load_dump(data)` for data the platform builds
    itself; see the module's text."""

    __slots__ = ("load", "dump", "load_dump")

    def __init__(self, load: Callable[[Any], dict], dump: Callable[[Any], dict],
                 load_dump: Callable[[Any], tuple[dict, dict]]):
        self.load = load  # what `Schema.load(data)` returns; raises `Unsure` instead of deciding anything else
        self.dump = dump  # what `Schema.dump(obj)` returns
        # (`Schema.load(data)`, `Schema.dump` of that) for a dict of every field's own loaded values; else `Unsure`
        self.load_dump = load_dump


def _get(obj, key):
    """`marshmallow.utils.get_value` for a key without dots."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _loader(field: fields.Field, name: str | None) -> Callable[[Any, Any], Any]:
    """(value (not missing), the whole input) -> the loaded value, as `field.deserialize` gives it."""
    if field.pre_load or field.post_load:
        return lambda value, data: field.deserialize(value, name, data)
    allow_none, validators = field.allow_none, tuple(field.validators)
    convert = _converter(field, name)

    def load_value(value, data):
        if value is None:
            if allow_none:
                return None
            raise Unsure
        result = convert(value, data)
        for validator in validators:
            validator(result)
        return result
    return load_value


def _plain_nested(field: fields.Field) -> Codec | None:
    """The nested schema's codec, for a `Nested` of one object loaded with its schema's own options."""
    if type(field) is not fields.Nested or field.many or field.only is not None or field.exclude \
            or field.unknown is not None:
        return None
    return _compiled(field.schema)


def _converter(field: fields.Field, name: str | None) -> Callable[[Any, Any], Any]:
    """(value (not missing, not None), the whole input) -> the field's `_deserialize` of it."""
    if type(field) is fields.List:
        inner = _loader(field.inner, None)  # `List` loads its items with neither name nor input
        item = field.inner
        # items the inner field loads as they are (a `String` of str, no validators): the list copied at once
        same = _passes_through(item) if not (item.validators or item.pre_load or item.post_load) else None

        def convert_list(value, data):
            if type(value) not in (list, tuple):
                raise Unsure
            if same is not None and all(type(each) is same for each in value):
                return list(value)
            return [inner(each, None) for each in value]
        return convert_list
    nested = _plain_nested(field)
    if nested is not None:
        return lambda value, data: nested.load(value)
    deserialize = field._deserialize
    same = _passes_through(field)
    if same is not None:  # the field's own `_deserialize` would return this value itself
        return lambda value, data: value if type(value) is same else deserialize(value, name, data)
    parse = _iso_parser(field)
    if parse is not None:
        return lambda value, data: parse(value) if type(value) is str else deserialize(value, name, data)
    return lambda value, data: deserialize(value, name, data)


def _passes_through(field: fields.Field) -> type | None:
    """The type whose values the field loads and dumps unchanged (a str for `String`, an int for `Integer`...)."""
    kind = type(field)
    if kind is fields.String:
        return str
    if kind is fields.Integer and not field.as_string:
        return int  # `int(value)` of an int is the value
    if kind is fields.Boolean and True in field.truthy and False in field.falsy:
        return bool
    return None


def _iso_parser(field: fields.Field) -> Callable[[str], Any] | None:
    """For a date or date-time field in ISO format: str -> what its `_deserialize` gives (Unsure otherwise)."""
    kind = type(field)
    if kind not in (fields.Date, fields.DateTime, fields.AwareDateTime, fields.NaiveDateTime) \
            or field.format not in ("iso", "iso8601"):
        return None
    parse = field.DESERIALIZATION_FUNCS[field.format]
    if kind is fields.AwareDateTime:
        def parse_aware(value):
            result = parse(value)
            if result.tzinfo is None or result.utcoffset() is None:
                raise Unsure
            return result
        return parse_aware if field.default_timezone is None else None
    if kind is fields.NaiveDateTime:
        def parse_naive(value):
            result = parse(value)
            if result.tzinfo is not None and result.utcoffset() is not None:
                raise Unsure
            return result
        return parse_naive if field.timezone is None else None
    return parse


def _dumper(field: fields.Field, attribute: str) -> Callable[[Any, Any], Any]:
    """(value (not missing), the object) -> the field's `_serialize` of it."""
    if type(field) is fields.List:
        inner = _dumper(field.inner, attribute)
        return lambda value, obj: None if value is None else [inner(each, obj) for each in value]
    nested = _plain_nested(field)
    if nested is not None:
        return lambda value, obj: None if value is None else nested.dump(value)
    serialize = field._serialize
    same = _passes_through(field)
    if same is not None:
        return lambda value, obj: value if type(value) is same else serialize(value, attribute, obj)
    if _iso_parser(field) is not None:  # `isoformat` of the field's own type
        if type(field) is fields.Date:
            return lambda value, obj: value.isoformat() if type(value) is date else serialize(value, attribute, obj)
        return lambda value, obj: isoformat(value) if type(value) is datetime else serialize(value, attribute, obj)
    return lambda value, obj: serialize(value, attribute, obj)


class _Source:
    """The text of a generated function and the objects it names."""

    def __init__(self):
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"missing": missing, "Unsure": Unsure, "Mapping": Mapping, "_get": _get,
                                      "ValidationError": ValidationError, "partial": functools.partial}

    def name(self, value: Any) -> str:
        label = f"_{len(self.names)}"
        self.names[label] = value
        return label

    def function(self, name: str) -> Callable:
        exec("\n".join(self.lines), self.names)  # noqa: S102 - the text is built here from the schema's fields
        return self.names[name]


def _load_source(schema: Schema) -> Callable[[Any], dict] | None:
    """The schema's load as straight-line Python: per field, the missing key, None, the field's conversion
    (inlined for the common kinds) and its validators, in marshmallow's order. A value of the kind the field
    takes as it comes (a str for a `String`, an int for an `Integer`, an ISO text for a date or an instant) is
    tested first, and a required key is read by subscript (its absence is a KeyError): the valid data meets
    one test per field before its validators."""
    src = _Source()
    known = set()
    body = []
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute or name
        if "." in attribute:
            return None
        known.add(key)
        k, a = repr(key), repr(attribute)
        if field.pre_load or field.post_load:
            body += [f"    v = get({k}, missing)", f"    v = {src.name(field.deserialize)}(v, {k}, data)",
                     f"    if v is not missing: out[{a}] = v"]
            continue
        checks = [f"        {_check(src, validator)}" for validator in field.validators]
        deserialize = src.name(field._deserialize)
        same, parse = _passes_through(field), _iso_parser(field)
        if same is not None:
            fast = [f"    if type(v) is {src.name(same)}:", *checks, f"        out[{a}] = v"]
            slow = [f"        v = {deserialize}(v, {k}, data)"]
        elif parse is not None:
            fast = ["    if type(v) is str:", *_iso_lines(src, field, parse), *checks, f"        out[{a}] = v"]
            slow = [f"        v = {deserialize}(v, {k}, data)"]
        else:
            fast = []
            slow = [f"        v = {src.name(_converter(field, key))}(v, data)"]
        otherwise = "elif" if fast else "if"
        if field.required:
            body.append(f"    v = data[{k}]")
        else:
            body.append(f"    v = get({k}, missing)")
        body += fast
        if not field.required:
            default = field.load_default
            if default is missing:
                body.append(f"    {otherwise} v is missing: pass")
            elif callable(default):
                body.append(f"    {otherwise} v is missing: out[{a}] = {src.name(default)}()")
            else:
                body.append(f"    {otherwise} v is missing: out[{a}] = {src.name(default)}")
            otherwise = "elif"
        body.append(f"    {otherwise} v is None: {f'out[{a}] = None' if field.allow_none else 'raise Unsure'}")
        body += ["    else:", *slow, *checks, f"        out[{a}] = v"]
    unknown = f"    if not data.keys() <= {src.name(frozenset(known))}: raise Unsure" if schema.unknown == RAISE else ""
    src.lines = ["def load(data):",
                 "    if not isinstance(data, Mapping): raise Unsure",
                 unknown,
                 "    out = {}",
                 "    get = data.get",
                 "    try:",
                 *("    " + line for line in body),
                 # a required key missing (KeyError), or refused: marshmallow, asked again, says it its way
                 "    except (KeyError, ValidationError, ValueError, TypeError):",
                 "        raise Unsure from None",
                 "    return out"]
    return src.function("load")


def _iso_lines(src: _Source, field: fields.Field, parse: Callable[[str], Any]) -> list[str]:
    """Lines turning the text `v` into the field's value, as `parse` (its `_iso_parser`) does: for an aware or
    naive instant read by `datetime.fromisoformat` (whose offset, when there is one, is a fixed `timezone`, never
    without a `utcoffset()`), the call and the test of its offset written out."""
    kind = type(field)
    # `datetime.fromisoformat` is a bound method, made anew at each reading: equal, not the same object
    if kind in (fields.AwareDateTime, fields.NaiveDateTime) \
            and field.DESERIALIZATION_FUNCS[field.format] == datetime.fromisoformat:
        test = "is None" if kind is fields.AwareDateTime else "is not None"
        return [f"        v = {src.name(datetime.fromisoformat)}(v)", f"        if v.tzinfo {test}: raise Unsure"]
    return [f"        v = {src.name(parse)}(v)"]


def _check(src: _Source, validator) -> str:
    """A line testing `v` as the validator does: marshmallow's common validators written out (refusal is `Unsure`),
    so a valid value costs a comparison instead of a call; any other validator is called."""
    kind = type(validator)
    if kind is validate.Length:
        if validator.equal is not None:
            return f"if len(v) != {src.name(validator.equal)}: raise Unsure"
        tests = ([f"len(v) < {src.name(validator.min)}"] if validator.min is not None else []) + (
            [f"len(v) > {src.name(validator.max)}"] if validator.max is not None else [])
        return f"if {' or '.join(tests)}: raise Unsure" if tests else "len(v)"
    if kind is validate.Range:
        tests = []
        if validator.min is not None:
            tests.append(f"v {'<' if validator.min_inclusive else '<='} {src.name(validator.min)}")
        if validator.max is not None:
            tests.append(f"v {'>' if validator.max_inclusive else '>='} {src.name(validator.max)}")
        return f"if {' or '.join(tests)}: raise Unsure" if tests else "pass"
    if kind is validate.OneOf:  # `in` as the validator tests it (a TypeError, as there, is a refusal)
        return f"if v not in {src.name(validator.choices)}: raise Unsure"
    if kind is validate.Regexp:
        return f"if {src.name(validator.regex)}.match(v) is None: raise Unsure"
    return f"{src.name(validator)}(v)"


def _dump_source(schema: Schema) -> Callable[[Any], dict] | None:
    """The schema's dump as straight-line Python: per field, its value, its `dump_default` when missing, and the
    field's `_serialize` (inlined for the common kinds)."""
    src = _Source()
    body = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute if field.attribute is not None else name
        if not field._CHECK_ATTRIBUTE or "." in attribute:
            return None
        a, k = repr(attribute), repr(field.data_key if field.data_key is not None else name)
        # a dict's own `get` gives what marshmallow's accessor gives, unless the key names a dict attribute
        body.append(f"    v = _get(obj, {a})" if hasattr(dict, attribute) else f"    v = get({a}, missing)")
        default = field.dump_default
        if default is missing:
            body.append("    if v is not missing:")
        else:
            body += ["    if v is missing:", f"        v = {src.name(default)}{'()' if callable(default) else ''}",
                     "    if v is not missing:"]
        serialize = src.name(field._serialize)
        same = _passes_through(field)
        # these kinds' `_serialize` gives None for None: said at once, without the call
        if same is not None:
            body.append(f"        out[{k}] = v if type(v) is {src.name(same)} else None if v is None else "
                        f"{serialize}(v, {a}, obj)")
        elif _iso_parser(field) is not None:  # `isoformat` of the field's own type (an instant's through orjson)
            own, text = (date, "v.isoformat()") if type(field) is fields.Date else (datetime, f"{src.name(isoformat)}(v)")
            body.append(f"        out[{k}] = {text} if type(v) is {src.name(own)} else None if v is None else "
                        f"{serialize}(v, {a}, obj)")
        else:
            body.append(f"        out[{k}] = {src.name(_dumper(field, attribute))}(v, obj)")
    src.lines = ["def dump(obj):",
                 "    if type(obj) is dict: get = obj.get",
                 "    elif not hasattr(obj, '__getitem__'): get = partial(getattr, obj)",
                 "    else: get = lambda a, m: _get(obj, a)",
                 "    out = {}", *body, "    return out"]
    return src.function("dump")


def _typed_test(field: fields.Field) -> tuple[str, str] | None:
    """For a field whose loaded values are of one plain kind: (the test that `v` is such a value, which its
    `_deserialize` returns unchanged, the expression of its `_serialize` of `v`), with `{}` for the names the
    generated text gives the types and `isoformat`; None for any other field."""
    kind = type(field)
    same = _passes_through(field)
    if same is not None:  # a str for a `String`, an int (not a bool) for an `Integer`, a bool for a `Boolean`
        return f"type(v) is {{{same.__name__}}}", "v"
    if _iso_parser(field) is None:
        return None
    if kind is fields.Date:  # a date, not a datetime (a `Date` field would load a datetime as it is, and dump its time)
        return "type(v) is {date}", "v.isoformat()"
    if kind is fields.AwareDateTime:  # `utils.is_aware`, as its `_deserialize` tests it
        return "type(v) is {datetime} and v.tzinfo is not None and v.utcoffset() is not None", "{isoformat}(v)"
    if kind is fields.NaiveDateTime:
        return "type(v) is {datetime} and v.tzinfo is None", "{isoformat}(v)"
    return "type(v) is {datetime}", "{isoformat}(v)"  # `DateTime`


def _load_dump_source(schema: Schema) -> Callable[[Any], tuple[dict, dict]]:
    """(`Schema.load(data)`, `Schema.dump` of that) in one pass, for the data a producer builds from its own typed
    values: a dict with every field's key and no other, each value of the kind its field loads as it is (a str for a
    `String`, an int for an `Integer`, an aware datetime for an `AwareDateTime`, a date for a `Date`...) or None
    where the field allows it, within the field's validators. The loaded values are the given ones (marshmallow's
    `_deserialize` returns such a value itself), the dumped ones their `_serialize` (a date or an instant as
    `isoformat()`). `Unsure` for anything else, and always for a schema with a field of another kind, a field
    loaded or dumped under another name, or a field only loaded or only dumped: the caller then loads and dumps."""
    src = _Source()
    types = {"str": src.name(str), "int": src.name(int), "bool": src.name(bool), "date": src.name(date),
             "datetime": src.name(datetime), "isoformat": src.name(isoformat)}
    load_fields, dump_fields = schema.load_fields, schema.dump_fields
    plain = load_fields.keys() == dump_fields.keys() and all(
        dump_fields[name] is field and field.data_key in (None, name) and field.attribute in (None, name)
        and not (field.pre_load or field.post_load) for name, field in load_fields.items())
    tests = [_typed_test(field) for field in load_fields.values()] if plain else [None]
    if any(test is None for test in tests):
        src.lines = ["def load_dump(data):", "    raise Unsure"]
        return src.function("load_dump")
    body = []
    for number, ((name, field), (test, wire)) in enumerate(zip(load_fields.items(), tests)):
        checks = [f"        {_check(src, validator)}" for validator in field.validators]
        body += [f"    v = data[{name!r}]",
                 f"    if {test.format(**types)}:", *checks, f"        w = {wire.format(**types)}",
                 "    elif v is None: w = None" if field.allow_none else "",  # validators are not run on None
                 "    else: raise Unsure",
                 f"    v{number}, w{number} = v, w"]
    loaded = ", ".join(f"{name!r}: v{n}" for n, name in enumerate(load_fields))
    numbers = {name: n for n, name in enumerate(load_fields)}
    dumped = ", ".join(f"{name!r}: w{numbers[name]}" for name in dump_fields)  # in the dump's own order
    src.lines = ["def load_dump(data):",
                 f"    if type(data) is not dict or data.keys() != {src.name(frozenset(load_fields))}: raise Unsure",
                 "    try:", *("    " + line for line in body if line),
                 "    except (ValidationError, ValueError, TypeError):",  # a validator's refusal or failure
                 "        raise Unsure from None",
                 f"    return {{{loaded}}}, {{{dumped}}}"]
    return src.function("load_dump")


@functools.cache
def _compiled(schema: Schema) -> Codec | None:
    schema_class = type(schema)
    if any(schema_class.resolve_hooks().values()) or schema.dict_class is not dict or schema.many \
            or schema_class.get_attribute is not Schema.get_attribute or schema.unknown not in (RAISE, EXCLUDE):
        return None
    load, dump = _load_source(schema), _dump_source(schema)
    if load is None or dump is None:
        return None
    return Codec(load, dump, _load_dump_source(schema))


def codec(schema: Schema) -> Codec | None:
    """The schema instance's compiled load and dump (built once per instance), or None when its behaviour is not
    only its fields'."""
    return _compiled(schema)
