"""The compiled codec gives exactly what marshmallow gives, on every contract of the registry, or stands aside.

For each event type (and the envelope): a valid example is made from the schema itself (each field gets the
first of a pool of values its own `deserialize` accepts); then every field is given every value of the pool,
removed, and an unknown key is added. Whenever the codec answers, `Schema.load` must accept the same data
and return the same values of the same types; the valid example itself must be decided by the codec (it
is the fast path), and dumps must agree.
"""
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate
from marshmallow.utils import missing

from contracts.envelope import EnvelopeSchema
from contracts.registry import EVENTS
from contracts.vocabulary import EntryState
from runtime import jsoncodec
from runtime.schema_codec import Unsure, codec

POOL = [
    "198001012005011001", "200001012022032001", "present", "approved", "Asia/Jakarta", "2026-11", "PNS",
    "2026-03-02", "2026-03-02T07:30:00+07:00", "2026-03-02T00:30:00+00:00", "2026-03-02T07:30:00",
    "7f1c2a7e-8d2b-4c1e-9a1b-2f3c4d5e6f70", "abc", "", " ", "x" * 300, "07:30", "ab" * 32,
    0, 1, 7, 2026, -1, 10 ** 12, 1.5, float("nan"), True, False, None, "1", "true",
    Decimal("1.25"), [], ["a", "b"], [1], [None], {}, {"a": 1},
    [{"punch_id": "p1", "doubts": ["kind"]}], [{"punch_id": "p1"}], [{"punch_id": "p1", "doubts": "x"}],
    datetime(2026, 3, 2, 0, 30, tzinfo=UTC), datetime(2026, 3, 2, 7, 30), date(2026, 3, 2),
]


def _strict(value):
    """A value with the types of everything in it, so 1 and True and 1.0 differ."""
    if isinstance(value, dict):
        return ("dict", sorted((k, _strict(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_strict(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo is not None and value.utcoffset()))
    return (type(value).__name__, value)


def _choices(field) -> list:
    """The values a field's `OneOf` allows (its items' for a list), tried before the pool."""
    inner = [field.inner] if isinstance(field, fields.List) else []
    found = [list(v.choices) for f in [field, *inner] for v in f.validators if isinstance(v, validate.OneOf)]
    return [c for choices in found for c in choices] + [[c] for f in inner for v in f.validators
                                                        if isinstance(v, validate.OneOf) for c in v.choices]


def _example(schema: Schema) -> dict:
    data = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        for value in _choices(field) + POOL:
            try:
                field.deserialize(value, key, data)
            except (ValidationError, TypeError, ValueError):
                continue
            if value is not None:
                data[key] = value
                break
        else:
            assert not field.required, f"no value in the pool for {type(schema).__name__}.{name}"
    return data


def _schemas():
    yield "envelope", EnvelopeSchema()
    for event_type, (_, schema_class) in sorted(EVENTS.items()):
        yield event_type, schema_class()


def _agree(schema: Schema, data) -> bool:
    """True when the codec decided `data` (and then it must be what marshmallow gives)."""
    compiled = codec(schema)
    try:
        fast = compiled.load(data)
    except Unsure:
        return False
    slow = schema.load(data)  # must not raise: the codec only answers for data marshmallow accepts
    assert _strict(fast) == _strict(slow), (data, fast, slow)
    assert _strict(compiled.dump(fast)) == _strict(schema.dump(slow))
    return True


@pytest.mark.parametrize("name,schema", list(_schemas()), ids=[n for n, _ in _schemas()])
def test_the_codec_is_marshmallow_on_every_contract(name, schema):
    compiled = codec(schema)
    if compiled is None:  # a schema with its own hooks: marshmallow decides everything
        assert any(type(schema).resolve_hooks().values())
        return
    example = _example(schema)
    assert _agree(schema, example), f"the codec does not decide a valid {name}"
    decided = 1
    for name_, field in schema.load_fields.items():
        key = field.data_key or name_
        for value in _choices(field) + POOL:
            decided += _agree(schema, dict(example, **{key: value}))
        decided += _agree(schema, {k: v for k, v in example.items() if k != key})
    assert not _agree(schema, dict(example, surprise=1)) or schema.unknown == EXCLUDE
    assert decided > len(schema.load_fields)  # the fast path is taken for many variants, not only the example


def test_refused_data_is_left_to_marshmallow():
    schema = EVENTS["attendance.day.built"][1]()
    compiled = codec(schema)
    example = _example(schema)
    for bad in ({"status": "sleeping"}, {"version": 0}, {"employee_id": "not a NIP"}, {"punch_ids": "p1"},
                {"local_date": "2026-02-30"}, {"clock_in": "2026-03-02T07:30:00"}, {"missing_clock_in": "maybe"},
                {"doubtful_punches": [{"punch_id": "p1", "doubts": ["x"], "extra": 1}]}):
        with pytest.raises(Unsure):
            compiled.load(dict(example, **bad))
        with pytest.raises(ValidationError):
            schema.load(dict(example, **bad))


def test_objects_dump_like_marshmallow_and_missing_attributes_are_left_out():
    class Thing:
        employee_id = "198001012005011001"
        at = datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=7)))
        tags = ("a", "b")

    class ThingSchema(Schema):
        employee_id = fields.String(required=True)
        at = fields.AwareDateTime(required=True)
        tags = fields.List(fields.String())
        note = fields.String(dump_default="none")
        absent = fields.Integer()
        renamed = fields.String(attribute="employee_id", data_key="nip", dump_only=True)

    schema = ThingSchema()
    assert codec(schema).dump(Thing()) == schema.dump(Thing())
    assert "absent" not in codec(schema).dump(Thing())


def test_a_schema_with_its_own_hooks_or_options_is_not_compiled():
    class Hooked(Schema):
        a = fields.Integer()

        @post_load
        def _after(self, data, **_kwargs):
            return data

    class Included(Schema):
        class Meta:
            unknown = "include"
        a = fields.Integer()

    assert codec(Hooked()) is None
    assert codec(Included()) is None


def test_field_options_are_honoured():
    class Options(Schema):
        class Meta:
            unknown = EXCLUDE
        n = fields.Integer(load_default=lambda: 5, validate=validate.Range(min=1))
        s = fields.String(data_key="text", attribute="label", allow_none=True)
        d = fields.Date(load_default=None)
        t = fields.List(fields.Nested(lambda: Inner()), load_default=list)

    class Inner(Schema):
        k = fields.String(required=True)

    schema, compiled = Options(), codec(Options())
    for data in ({}, {"n": 3, "text": None}, {"text": "x", "other": 1}, {"t": [{"k": "v"}]},
                 {"d": "2026-01-31", "n": 2}):
        assert _strict(compiled.load(data)) == _strict(schema.load(data))
    for data in ({"n": 0}, {"label": "x", "n": 1} | {"n": "a"}, {"t": [{"k": 1}]}, {"t": [{}]}):
        with pytest.raises(Unsure):
            compiled.load(data)
    assert compiled.load({})["t"] == [] and compiled.load({})["n"] == 5
    assert missing is not None


def test_required_keys_values_taken_as_they_come_and_instants_keep_every_check():
    """A required key is read by subscript and a value of the field's own kind is tested first: a missing key,
    None, a value refused by a validator, or an instant of the wrong kind still leaves the data to marshmallow;
    what it loads has marshmallow's keys in marshmallow's order."""
    first = datetime(2026, 1, 1, tzinfo=UTC)

    class Shapes(Schema):
        must = fields.String(required=True, allow_none=True)
        word = fields.String(required=True, validate=validate.OneOf(["a", "b"]))
        note = fields.String()  # no default: left out when missing
        count = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
        aware = fields.AwareDateTime(required=True, validate=validate.Range(min=first))
        naive = fields.NaiveDateTime(load_default=None, allow_none=True)
        day = fields.Date(required=True, validate=validate.Range(min=date(2026, 1, 1)))
        flag = fields.Boolean(load_default=False)

    schema, compiled = Shapes(), codec(Shapes())
    valid = {"must": "x", "word": "a", "count": 2, "aware": "2026-03-02T07:30:00+07:00", "naive": "2026-03-02T07:30:00",
             "day": "2026-03-02", "flag": True}
    for data in (valid, dict(valid, must=None), dict(valid, count=None),
                 {k: v for k, v in valid.items() if k != "count"}, dict(valid, naive=None), dict(valid, flag="true"),
                 dict(valid, count="3"), dict(valid, note="n")):
        assert _strict(compiled.load(data)) == _strict(schema.load(data))
        assert list(compiled.load(data)) == list(schema.load(data))  # the same keys in the same order
    for bad in ({"must": missing}, {"word": "c"}, {"word": None}, {"word": missing}, {"count": 0}, {"count": True},
                {"aware": "2025-12-31T23:00:00+00:00"}, {"aware": "2026-03-02T07:30:00"}, {"aware": None},
                {"naive": "2026-03-02T07:30:00+00:00"}, {"day": "2025-12-31"}, {"day": "2026-02-30"},
                {"flag": None}, {"note": None}):
        data = {k: v for k, v in dict(valid, **bad).items() if v is not missing}
        with pytest.raises(Unsure):
            compiled.load(data)
        with pytest.raises(ValidationError):
            schema.load(data)


class _Instant(datetime):
    """A datetime of another class: its own type, which the one-pass path leaves to marshmallow."""


class _Text(str):
    pass


TYPED_POOL = POOL + [
    datetime(2026, 3, 2, 7, 30, tzinfo=timezone(timedelta(hours=7))), datetime(2026, 3, 2, 7, 30, 0, 250),
    datetime(2026, 3, 2, 0, 30, tzinfo=ZoneInfo("Asia/Jayapura")), _Instant(2026, 3, 2, 0, 30, tzinfo=UTC),
    _Instant(2026, 3, 2, 7, 30), date(1999, 12, 31), _Text("198001012005011001"), _Text("adms"),
    EntryState.APPROVED, 2 ** 62, 1.0,
]


def _typed_example(schema: Schema) -> dict:
    """A valid example as the producer builds it: every field's key, each value as `Schema.load` gives it."""
    loaded = schema.load(_example(schema))
    return {name: loaded.get(name) for name in schema.load_fields}


def _agree_in_one_pass(schema: Schema, data) -> bool:
    """True when `load_dump` decided `data`: then marshmallow accepts it, loads the same values (same types, same
    order) and dumps what `load_dump` dumped, to the same JSON text."""
    try:
        fast, wire = codec(schema).load_dump(data)
    except Unsure:
        return False
    slow = schema.load(data)  # must not raise: the one pass answers only for data marshmallow accepts
    assert _strict(fast) == _strict(slow) and list(fast) == list(slow), (data, fast, slow)
    dumped = schema.dump(slow)
    assert _strict(wire) == _strict(dumped) and list(wire) == list(dumped), (data, wire, dumped)
    assert jsoncodec.dumps(wire, sort_keys=True) == jsoncodec.dumps(dumped, sort_keys=True)
    return True


@pytest.mark.parametrize("name,schema", list(_schemas()), ids=[n for n, _ in _schemas()])
def test_the_one_pass_load_and_dump_is_marshmallows_load_then_dump_on_every_contract(name, schema):
    compiled = codec(schema)
    if compiled is None:
        return
    example = _typed_example(schema)
    decided = _agree_in_one_pass(schema, example)
    for name_ in schema.load_fields:
        for value in _choices(schema.load_fields[name_]) + TYPED_POOL:
            decided += _agree_in_one_pass(schema, dict(example, **{name_: value}))
        assert not _agree_in_one_pass(schema, {k: v for k, v in example.items() if k != name_})
    assert not _agree_in_one_pass(schema, dict(example, surprise=1))
    if name == "attendance.punch.recorded":  # the punches' data is built of plain values: the fast path decides it
        assert decided > 2 * len(schema.load_fields)


def test_the_one_pass_refuses_what_the_schema_refuses_and_stands_aside_for_other_kinds():
    first = datetime(2026, 1, 1, tzinfo=UTC)

    class Shapes(Schema):
        word = fields.String(required=True, validate=validate.OneOf(["a", "b"]))
        nip = fields.String(required=True, validate=validate.Regexp(r"^\d{3}$"))
        count = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
        aware = fields.AwareDateTime(required=True, validate=validate.Range(min=first))
        naive = fields.NaiveDateTime(load_default=None, allow_none=True)
        day = fields.Date(required=True, validate=validate.Range(min=date(2026, 1, 1)))
        flag = fields.Boolean(load_default=False)

    schema, compiled = Shapes(), codec(Shapes())
    valid = {"word": "a", "nip": "123", "count": 2, "aware": datetime(2026, 3, 2, tzinfo=UTC),
             "naive": datetime(2026, 3, 2, 7, 30), "day": date(2026, 3, 2), "flag": True}
    for data in (valid, dict(valid, count=None), dict(valid, naive=None)):
        assert _agree_in_one_pass(schema, data)
    for bad in ({"word": "c"}, {"word": None}, {"nip": "12"}, {"nip": "1234"}, {"count": 0}, {"count": True},
                {"count": 2.0}, {"aware": datetime(2025, 12, 31, 23, tzinfo=UTC)}, {"aware": datetime(2026, 3, 2)},
                {"aware": None}, {"naive": datetime(2026, 3, 2, tzinfo=UTC)}, {"day": date(2025, 12, 31)},
                {"day": datetime(2026, 3, 2)}, {"flag": None}, {"flag": 1}):
        data = dict(valid, **bad)
        with pytest.raises(Unsure):
            compiled.load_dump(data)
        try:  # refused by the schema (a date compared with a datetime: a TypeError), or left to the load and dump
            schema.load(data)
        except (ValidationError, TypeError):
            pass
    with pytest.raises(Unsure):  # a key missing, even one the schema defaults, is the schema's to fill
        compiled.load_dump({k: v for k, v in valid.items() if k != "flag"})

    class Renamed(Schema):
        a = fields.String(data_key="b")

    class Listed(Schema):
        a = fields.List(fields.String())

    class DumpOnly(Schema):
        a = fields.String()
        b = fields.String(dump_only=True)

    for other, data in ((Renamed(), {"b": "x"}), (Listed(), {"a": ["x"]}), (DumpOnly(), {"a": "x", "b": "y"})):
        with pytest.raises(Unsure):
            codec(other).load_dump(data)
