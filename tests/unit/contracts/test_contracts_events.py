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


SCORED = {"employee_id": "198503122010011002", "unit_id": "U1", "year": 2026, "month": 10, "version": 1,
          "activity_score": "90.00", "discipline_score": "99.00", "predicate": "Baik", "effective_minutes": 9900,
          "credited_minutes": 8910, "breakdown": {},
          "days": [{"local_date": "2026-10-05", "status": "late", "late_band": "TL2"},
                   {"local_date": "2026-10-09", "status": "leave", "absence_kind": "leave", "early_band": None}]}


def test_day_facts_round_trip_in_their_wire_form():
    event = make_event("scoring.month.scored", SCORED["employee_id"], SCORED, "scoring")
    wire = json.loads(event.to_json())["data"]["days"]
    assert wire == [
        {"local_date": "2026-10-05", "status": "late", "late_band": "TL2", "early_band": None, "absence_kind": None},
        {"local_date": "2026-10-09", "status": "leave", "late_band": None, "early_band": None,
         "absence_kind": "leave"}]
    parsed = parse_event(event.to_json()).data["days"]
    assert parsed[0]["local_date"].isoformat() == "2026-10-05" and parsed[1]["absence_kind"] == "leave"


@pytest.mark.parametrize("days, errors", [
    ("x", ["Not a valid list."]),
    ([{"status": "late"}], {0: {"local_date": ["Missing data for required field."]}}),
    ([{"local_date": "2026-10-05", "status": "late"}, {"local_date": "5 Oct", "status": "late"}],
     {1: {"local_date": ["Not a valid date."]}}),
    ([{"local_date": "20261005", "status": "late"}], {0: {"local_date": ["Not a valid date."]}}),
    ([{"local_date": "2026-10-05", "status": 3}], {0: {"status": ["Not a valid string."]}}),
    ([{"local_date": "2026-10-05", "status": "late", "late_band": 2, "mood": "ok"}],
     {0: {"late_band": ["Not a valid string."], "mood": ["Unknown field."]}}),
    (["2026-10-05"], {0: {"_schema": ["Invalid input type."]}}),
])
def test_bad_day_facts_are_refused_by_index_and_key(days, errors):
    with pytest.raises(InvalidEvent) as exc:
        make_event("scoring.month.scored", SCORED["employee_id"], {**SCORED, "days": days}, "scoring")
    assert exc.value.errors == {"data": {"days": errors}}
