"""Making and checking events: the envelope plus the data schema of the event's type.

`make_event` builds one event; `make_events` builds many of one type, validated together; `wire_forms`
gives the wire form of many events at once (what `runtime.messaging.publish` writes to the outbox).
Both batch paths give exactly what the one-event path gives, through marshmallow's public API only: when
a type's schema has only field-level rules (no `pre_load`/`post_load`/`validates_schema`/`*_dump` hooks,
plain field names), a batch is checked and dumped one distinct value per field at a time (employees,
zones and dates repeat a lot in a batch); otherwise the schema loads or dumps the whole batch.
"""
from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError

from contracts.envelope import EnvelopeSchema
from contracts.registry import EVENTS


class InvalidEvent(ValueError):
    """An event that does not match its contract; `errors` names the fields at fault."""

    def __init__(self, errors: dict):
        super().__init__(json.dumps(errors, sort_keys=True, default=str))
        self.errors = errors


@functools.cache
def _schema(event_type: str) -> Schema:
    """The one data schema instance of an event type, built on first use and reused for every load and dump.

    marshmallow 4 keeps no per-call state on a schema instance (each load or dump collects its errors in a
    store of its own; schemas have no `context` any more), so one instance serves every thread.
    """
    return EVENTS[event_type][1]()


@functools.cache
def _envelope() -> EnvelopeSchema:
    """The envelope schema instance, built on first use."""
    return EnvelopeSchema()


@dataclass(frozen=True)
class Event:
    """A validated event: its envelope fields and its data as loaded by the type's schema."""

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    producer: str
    key: str
    data: dict
    topic: str

    def to_json(self) -> str:
        """The wire form (JSON), with `data` dumped by the type's schema."""
        return self.envelope_json(_schema(self.type).dump(self.data))

    def envelope_json(self, dumped_data: dict) -> str:
        """The wire form around data already dumped by the type's schema (see `wire_forms`)."""
        return json.dumps({
            "event_id": self.event_id, "type": self.type, "version": self.version,
            "occurred_at": self.occurred_at.astimezone(timezone.utc).isoformat(),
            "producer": self.producer, "key": self.key, "data": dumped_data,
        }, sort_keys=True)


@functools.cache
def _field_level_only(event_type: str) -> bool:
    """Whether the type's schema decides each field on its own (so distinct values may be checked once)."""
    schema_class = EVENTS[event_type][1]
    if any(schema_class.resolve_hooks().values()):
        return False
    return all(f.data_key in (None, name) and not f.load_only and not f.dump_only
               for name, f in _schema(event_type).fields.items())


def _by_distinct_value(event_type: str, rows: Sequence[dict], convert) -> list[dict] | None:
    """Each row with every value replaced by `convert(field, name, value)`, computed once per distinct value
    of each field; None when the batch is not of the simple kind (the schema must decide row by row)."""
    schema = _schema(event_type)
    names = schema.fields.keys()
    if not _field_level_only(event_type) or any(row.keys() != names for row in rows):
        return None
    columns = {}
    try:
        for name, field in schema.fields.items():
            seen: dict = {}
            for row in rows:
                value = row[name]
                key = (type(value), value)
                if key not in seen:
                    seen[key] = convert(field, name, value)
            columns[name] = seen
    except TypeError:  # an unhashable value (a list, a dict): not the simple kind
        return None
    return [{name: columns[name][(type(row[name]), row[name])] for name in names} for row in rows]


def _load_many(event_type: str, rows: Sequence[dict]) -> list[dict]:
    if event_type not in EVENTS:
        raise InvalidEvent({"type": [f"unknown event type {event_type!r}"]})
    try:
        loaded = _by_distinct_value(event_type, rows, lambda field, name, value: field.deserialize(value, name, None))
        return loaded if loaded is not None else _schema(event_type).load(list(rows), many=True)
    except ValidationError:
        pass
    try:  # the errors exactly as the schema reports them, row by row
        _schema(event_type).load(list(rows), many=True)
    except ValidationError as exc:
        raise InvalidEvent({"data": exc.messages}) from None
    raise AssertionError("a value refused alone was accepted in its batch")  # pragma: no cover


def topic_of(event_type: str) -> str:
    """The topic an event type is published on."""
    try:
        return EVENTS[event_type][0]
    except KeyError:
        raise InvalidEvent({"type": [f"unknown event type {event_type!r}"]}) from None


def _load_data(event_type: str, data) -> dict:
    if event_type not in EVENTS:
        raise InvalidEvent({"type": [f"unknown event type {event_type!r}"]})
    try:
        return _schema(event_type).load(data)
    except ValidationError as exc:
        raise InvalidEvent({"data": exc.messages}) from None


def make_event(event_type: str, key: str, data: dict, producer: str, occurred_at: datetime | None = None,
               version: int = 1, event_id: str | None = None) -> Event:
    """Build a new event, refusing data that does not match the type's schema (validated on produce)."""
    loaded = _load_data(event_type, data)
    return Event(
        event_id=event_id or str(uuid.uuid4()), type=event_type, version=version,
        occurred_at=occurred_at or datetime.now(timezone.utc), producer=producer, key=str(key),
        data=loaded, topic=topic_of(event_type),
    )


def make_events(event_type: str, items: Iterable[tuple[str, dict]], producer: str,
                occurred_at: datetime | None = None, version: int = 1) -> list[Event]:
    """Build many new events of one type from `(key, data)` pairs, refusing the batch as `make_event` would
    refuse its first bad item (InvalidEvent naming the rows and fields at fault)."""
    items = list(items)
    loaded = _load_many(event_type, [data for _, data in items])
    occurred_at = occurred_at or datetime.now(timezone.utc)
    topic = topic_of(event_type)
    return [Event(event_id=str(uuid.uuid4()), type=event_type, version=version, occurred_at=occurred_at,
                  producer=producer, key=str(key), data=data, topic=topic)
            for (key, _), data in zip(items, loaded)]


def wire_forms(events: Sequence[Event]) -> list[str]:
    """`event.to_json()` of every event, in order, dumping the data of each type's events together."""
    by_type: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        by_type.setdefault(event.type, []).append(index)
    out: list[str] = [""] * len(events)
    for event_type, indexes in by_type.items():
        rows = [events[i].data for i in indexes]
        dumped = _by_distinct_value(event_type, rows, lambda field, name, value: field.serialize(name, {name: value}))
        if dumped is None:
            dumped = _schema(event_type).dump(rows, many=True)
        for i, data in zip(indexes, dumped):
            out[i] = events[i].envelope_json(data)
    return out


def parse_event(raw: bytes | str) -> Event:
    """Parse and validate a wire event (validated on consume); raise InvalidEvent with the fields at fault."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent({"_schema": [f"not JSON: {exc}"]}) from None
    if not isinstance(doc, dict):
        raise InvalidEvent({"_schema": ["an event is a JSON object"]})
    try:
        envelope = _envelope().load(doc)
    except ValidationError as exc:
        raise InvalidEvent(exc.messages) from None
    data = _load_data(envelope["type"], envelope["data"])
    return Event(
        event_id=str(envelope["event_id"]), type=envelope["type"], version=envelope["version"],
        occurred_at=envelope["occurred_at"], producer=envelope["producer"], key=envelope["key"],
        data=data, topic=topic_of(envelope["type"]),
    )
