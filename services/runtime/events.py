"""Making and checking events: the envelope plus the data schema of the event's type.

`make_event` builds one event; `make_events` builds many of one type, validated and dumped together, and
gives exactly what `make_event` would give for each, through marshmallow's public API only: when a
type's schema has only field-level rules (no `pre_load`/`post_load`/`validates`/`validates_schema`/
`*_dump` hooks, which `SchemaMeta.resolve_hooks` lists; plain field names), each distinct value of each
field is loaded and dumped once (employees, zones and dates repeat a lot in a batch); otherwise the schema
loads and dumps the whole batch.
"""
from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
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
    dumped: dict | None = field(default=None, compare=False, repr=False)  # `data` as dumped, when known

    def to_json(self) -> str:
        """The wire form (JSON), with `data` dumped by the type's schema."""
        return json.dumps({
            "event_id": self.event_id, "type": self.type, "version": self.version,
            "occurred_at": _instant(self.occurred_at), "producer": self.producer,
            "key": self.key, "data": self.dumped if self.dumped is not None else _schema(self.type).dump(self.data),
        }, sort_keys=True)


@functools.cache
def _field_level_only(event_type: str) -> bool:
    """Whether the type's schema decides each field on its own (so distinct values may be checked once)."""
    schema_class = EVENTS[event_type][1]
    if any(schema_class.resolve_hooks().values()):
        return False
    return all(f.data_key in (None, name) and not f.load_only and not f.dump_only
               for name, f in _schema(event_type).fields.items())


@functools.lru_cache(maxsize=256)
def _instant(moment: datetime) -> str:
    """An envelope's `occurred_at` (the events of a batch share theirs)."""
    return moment.astimezone(timezone.utc).isoformat()


def _event_ids(count: int) -> list[str]:
    """`count` random (version 4, RFC 9562 variant) UUIDs in `str(uuid.uuid4())`'s form, from one read of the
    system's randomness: the version nibble set to 4, the variant's two top bits to 10."""
    digits = os.urandom(16 * count).hex()
    return [f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) & 3]}{x[17:20]}-{x[20:32]}"
            for x in (digits[i:i + 32] for i in range(0, 32 * count, 32))]


# Types whose equal values may differ in kind (1 == 1.0 == True): a column mixing them is decided row by row.
_NUMERIC = {bool, int, float}


def _load_and_dump_by_value(event_type: str, rows: Sequence[dict]) -> tuple[list[dict], list[dict]] | None:
    """(loaded rows, dumped rows), each distinct value of each field loaded and dumped once; None when the
    batch is not of that simple kind. The rows themselves are the loaded rows when loading changed no value
    (data given as Python objects). Raises ValidationError when a value is refused."""
    schema = _schema(event_type)
    if not _field_level_only(event_type) or any(row.keys() != schema.fields.keys() for row in rows):
        return None
    columns, unchanged = [], True
    try:
        for name, field_ in schema.fields.items():
            column = [row[name] for row in rows]
            loaded = dict.fromkeys(column)
            if _NUMERIC.intersection(map(type, loaded)) and len(_NUMERIC.intersection(map(type, column))) > 1:
                return None
            dumped = {}
            for value in loaded:
                loaded[value] = result = field_.deserialize(value, name, None)
                dumped[value] = field_.serialize(name, {name: result})
                unchanged = unchanged and result is value
            columns.append((column, loaded, dumped))
    except TypeError:  # an unhashable value (a list, a dict): not the simple kind
        return None
    names = tuple(schema.fields)
    dumped_rows = [dict(zip(names, values)) for values in zip(*([d[v] for v in c] for c, _, d in columns))]
    if unchanged:
        return list(rows), dumped_rows
    return [dict(zip(names, values)) for values in zip(*([l[v] for v in c] for c, l, _ in columns))], dumped_rows


def _load_and_dump_many(event_type: str, rows: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    if event_type not in EVENTS:
        raise InvalidEvent({"type": [f"unknown event type {event_type!r}"]})
    schema = _schema(event_type)
    try:
        both = _load_and_dump_by_value(event_type, rows)
        if both is not None:
            return both
        loaded = schema.load(list(rows), many=True)
        return loaded, schema.dump(loaded, many=True)
    except ValidationError:
        pass
    try:  # the errors exactly as the schema reports them, row by row
        schema.load(list(rows), many=True)
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
    refuse its first bad item (InvalidEvent naming the rows and fields at fault). Their wire forms are
    made with them (`to_json` then only writes the envelope)."""
    items = list(items)
    loaded, dumped = _load_and_dump_many(event_type, [data for _, data in items])
    occurred_at = occurred_at or datetime.now(timezone.utc)
    topic = topic_of(event_type)
    return [Event(event_id, event_type, version, occurred_at, producer, str(key), data, topic, wire)
            for event_id, (key, _), data, wire in zip(_event_ids(len(items)), items, loaded, dumped)]


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
