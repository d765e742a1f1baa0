"""A consumed event's envelope, checked without the schema's per-field pass, is loaded exactly as
`EnvelopeSchema` loads it, and anything else is left to the schema with its own errors.

Every variant of a valid envelope (each key given each value of a pool, removed, an unknown key added, the
event id in other forms `uuid.UUID` reads) is parsed both ways: whenever the plain path answers, the schema
accepts the same envelope and gives the same values of the same types; whenever the schema refuses,
`parse_event` refuses with the schema's own messages.
"""
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from marshmallow import ValidationError, fields, validate

from contracts.envelope import EnvelopeSchema
from runtime import events
from runtime.events import InvalidEvent, make_event, parse_event

EVENT_ID = "7f1c2a7e-8d2b-4c1e-9a1b-2f3c4d5e6f70"
POOL = [
    EVENT_ID, EVENT_ID.upper(), "{" + EVENT_ID + "}", "urn:uuid:" + EVENT_ID, EVENT_ID.replace("-", ""),
    EVENT_ID[:-1], EVENT_ID + "0", EVENT_ID + "\n", "7f1c2a7e-8d2b-4c1e-9a1b-2f3c4d5e6fzz",
    "directory.holiday.upserted", "abc", "ab", "", " ", "x" * 300,
    "2026-03-02T07:30:00+07:00", "2026-03-02T00:30:00+00:00", "2026-03-02T00:30:00Z", "2026-03-02T07:30:00",
    "2026-03-02", "2026-03-02T00:30:00.123456+00:00", "2026-03-02 00:30:00+00:00", "2026-03-02T00:30:00+05:30:15",
    "20260302T003000+0000", "2026-13-02T00:30:00+00:00", "not a date",
    0, 1, 2, -1, 2 ** 62, 1.0, 1.5, True, False, None, "1",
    [], ["a"], {}, {"date": "2026-08-17", "name": "Kemerdekaan"}, {"a": 1},
]


def _valid() -> dict:
    event = make_event("directory.holiday.upserted", "2026-08-17", {"date": "2026-08-17", "name": "Kemerdekaan"},
                       "test", occurred_at=datetime(2026, 3, 2, 0, 30, tzinfo=UTC), event_id=EVENT_ID)
    return orjson.loads(event.to_json())


def _variants():
    valid = _valid()
    yield valid
    for key in valid:
        for value in POOL:
            yield dict(valid, **{key: value})
        yield {k: v for k, v in valid.items() if k != key}
    yield dict(valid, surprise=1)


def _typed(value):
    """A value with its type (and an instant's offset), so 1 and True and equal instants of other offsets differ."""
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), value.utcoffset())
    if isinstance(value, dict):
        return ("dict", sorted((k, _typed(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def test_the_envelope_schema_is_the_one_the_plain_path_checks():
    """The plain path writes out these fields' rules: a change to the schema must change it too."""
    def rules(field):
        return [(type(v).__name__, getattr(v, "min", None), getattr(v, "max", None)) for v in field.validators]

    described = {name: (type(field).__name__, field.required, field.allow_none, rules(field))
                 for name, field in EnvelopeSchema().load_fields.items()}
    assert described == {
        "event_id": ("UUID", True, False, []),
        "type": ("String", True, False, [("Length", 3, None)]),
        "version": ("Integer", True, False, [("Range", 1, None)]),
        "occurred_at": ("AwareDateTime", True, False, []),
        "producer": ("String", True, False, [("Length", 1, None)]),
        "key": ("String", True, False, [("Length", 1, None)]),
        "data": ("Dict", True, False, []),
    }
    schema = EnvelopeSchema()
    assert schema.fields["version"].strict and schema.fields["occurred_at"].format == "iso"
    assert schema.fields["occurred_at"].default_timezone is None
    assert schema.fields["data"].key_field is None and schema.fields["data"].value_field is None
    assert all(isinstance(v, (validate.Length, validate.Range)) for f in schema.fields.values() for v in f.validators)
    assert all(type(f) in (fields.UUID, fields.String, fields.Integer, fields.AwareDateTime, fields.Dict)
               for f in schema.fields.values())


def test_the_plain_path_is_the_envelope_schema_on_every_variant():
    schema = EnvelopeSchema()
    decided = refused = 0
    for doc in _variants():
        try:
            slow = schema.load(doc)
        except ValidationError as exc:
            slow, messages = None, exc.messages
        plain = events._plain_envelope(doc)
        if plain is not None:
            assert slow is not None, doc  # the plain path only answers for what the schema accepts
            expected = (str(slow["event_id"]), slow["type"], slow["version"], slow["occurred_at"], slow["producer"],
                        slow["key"], slow["data"])
            assert [_typed(v) for v in plain] == [_typed(v) for v in expected], doc
            decided += 1
        if slow is None:
            with pytest.raises(InvalidEvent) as caught:
                parse_event(orjson.dumps(doc))
            assert caught.value.errors == messages
            refused += 1
        elif slow["type"] == "directory.holiday.upserted" and isinstance(slow["data"].get("name"), str):
            parsed = parse_event(orjson.dumps(doc))  # accepted either way, with the schema's values
            assert (parsed.event_id, parsed.version, _typed(parsed.occurred_at), parsed.producer, parsed.key) == (
                str(slow["event_id"]), slow["version"], _typed(slow["occurred_at"]), slow["producer"], slow["key"])
    assert events._plain_envelope(_valid()) is not None  # the valid envelope takes the plain path
    assert decided > 10 and refused > 10


def test_an_event_id_in_another_form_uuid_reads_is_given_in_canonical_form():
    for written in (EVENT_ID.upper(), "{" + EVENT_ID + "}", "urn:uuid:" + EVENT_ID, EVENT_ID.replace("-", "")):
        doc = dict(_valid(), event_id=written)
        assert events._plain_envelope(doc) is None
        assert parse_event(orjson.dumps(doc)).event_id == EVENT_ID


def test_occurred_at_keeps_its_offset_and_a_naive_instant_is_refused():
    doc = dict(_valid(), occurred_at="2026-03-02T07:30:00+07:00")
    moment = parse_event(orjson.dumps(doc)).occurred_at
    assert moment.utcoffset() == timedelta(hours=7) and moment == datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)
    with pytest.raises(InvalidEvent) as refused:
        parse_event(orjson.dumps(dict(_valid(), occurred_at="2026-03-02T07:30:00")))
    assert set(refused.value.errors) == {"occurred_at"}


def test_a_random_event_id_takes_the_plain_path():
    for _ in range(200):
        doc = dict(_valid(), event_id=str(uuid.uuid4()))
        assert events._plain_envelope(doc)[0] == doc["event_id"]
