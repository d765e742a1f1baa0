"""Making and checking events: the envelope plus the data schema of the event's type."""
from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
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
        return json.dumps({
            "event_id": self.event_id, "type": self.type, "version": self.version,
            "occurred_at": self.occurred_at.astimezone(timezone.utc).isoformat(),
            "producer": self.producer, "key": self.key, "data": _schema(self.type).dump(self.data),
        }, sort_keys=True)


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
