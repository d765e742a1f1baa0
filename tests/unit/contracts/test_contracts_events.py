"""The envelope and event schemas: valid events round-trip, bad ones are refused naming the field."""
import json
import uuid

import pytest

from contracts.registry import EVENTS
from contracts.topics import COMPACTED
from runtime.events import InvalidEvent, make_event, parse_event

EMPLOYEE = {"employee_id": "198503122010011002", "name": "Siti Aminah", "unit_id": "DISKOMINFO",
            "status": "PNS", "zone": "Asia/Jakarta"}


def test_event_round_trips_through_the_wire_form():
    event = make_event("directory.employee.upserted", EMPLOYEE["employee_id"], EMPLOYEE, "directory")
    parsed = parse_event(event.to_json())
    assert parsed.event_id == event.event_id
    assert parsed.topic == "directory.employees"
    assert parsed.data["name"] == "Siti Aminah"
    assert parsed.data["roles"] == []


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("event_id"), "event_id"),
    (lambda d: d.update(event_id="not-a-uuid"), "event_id"),
    (lambda d: d.update(version=0), "version"),
    (lambda d: d.update(occurred_at="2026-11-23T10:00:00"), "occurred_at"),  # no zone: refused
    (lambda d: d.update(key=""), "key"),
    (lambda d: d.update(data="x"), "data"),
])
def test_bad_envelope_is_refused_naming_the_field(mutate, field):
    doc = json.loads(make_event("directory.employee.upserted", "k", EMPLOYEE, "directory").to_json())
    mutate(doc)
    with pytest.raises(InvalidEvent) as exc:
        parse_event(json.dumps(doc))
    assert field in exc.value.errors


@pytest.mark.parametrize("data, field", [
    ({**EMPLOYEE, "employee_id": "123"}, "employee_id"),
    ({**EMPLOYEE, "status": "HONOR"}, "status"),
    ({**EMPLOYEE, "zone": "Europe/Paris"}, "zone"),
    ({k: v for k, v in EMPLOYEE.items() if k != "name"}, "name"),
])
def test_bad_data_is_refused_on_produce_naming_the_field(data, field):
    with pytest.raises(InvalidEvent) as exc:
        make_event("directory.employee.upserted", "k", data, "directory")
    assert field in exc.value.errors["data"]


def test_unknown_type_and_garbage_are_refused():
    with pytest.raises(InvalidEvent, match="unknown event type"):
        make_event("directory.nothing", "k", {}, "x")
    with pytest.raises(InvalidEvent, match="not JSON"):
        parse_event(b"\xff\x00garbage")
    doc = json.loads(make_event("directory.employee.upserted", "k", EMPLOYEE, "directory").to_json())
    doc["type"] = "nope.nope"
    doc["event_id"] = str(uuid.uuid4())
    with pytest.raises(InvalidEvent, match="unknown event type"):
        parse_event(json.dumps(doc))


def test_every_directory_event_is_on_a_compacted_topic():
    directory_topics = {topic for event_type, (topic, _) in EVENTS.items() if event_type.startswith("directory.")}
    assert directory_topics and directory_topics <= COMPACTED
