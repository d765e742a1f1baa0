"""Many events of one type made and dumped together are exactly the events made and dumped one by one."""
from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import Schema, ValidationError, fields, validates_schema

from runtime.events import InvalidEvent, dump_data, dumped_events, make_event, make_events, parse_event

AT = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)


def _punch(n, employee="198001012005011001", **changes):
    at = AT + timedelta(minutes=n)
    data = {"punch_id": str(n), "employee_id": employee, "device_serial": "DEV1", "pin": str(n % 3),
            "source": "adms", "at": at, "local_time": (at + timedelta(hours=7)).replace(tzinfo=None),
            "zone": "Asia/Jakarta", "local_date": date(2026, 3, 2), "device_status": n % 2, "verify": 1}
    return dict(data, **changes)


def test_a_batch_is_what_one_by_one_gives_with_python_or_wire_values():
    rows = [_punch(n, employee=f"19800101200501100{n % 4}") for n in range(40)]
    rows[5] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in rows[5].items()}  # wire form
    events = make_events("attendance.punch.recorded", [(r["employee_id"], r) for r in rows], "test", AT)
    one_by_one = [make_event("attendance.punch.recorded", r["employee_id"], r, "test", AT, event_id=e.event_id)
                  for r, e in zip(rows, events)]
    assert [e.data for e in events] == [e.data for e in one_by_one]
    assert [e.to_json() for e in events] == [e.to_json() for e in one_by_one]
    assert [parse_event(e.to_json()).data for e in events] == [e.data for e in one_by_one]
    assert len({e.event_id for e in events}) == 40


def test_events_of_data_already_dumped_are_the_events_make_events_makes():
    rows = [dump_data("attendance.punch.recorded", _punch(n, employee=f"19800101200501100{n % 4}")) for n in range(6)]
    made = make_events("attendance.punch.recorded", [(r["employee_id"], r) for r in rows], "test", AT)
    given = dumped_events("attendance.punch.recorded", [(r["employee_id"], r) for r in rows], "test", AT)
    assert [e.to_json().replace(e.event_id, "") for e in given] == [e.to_json().replace(e.event_id, "") for e in made]
    assert [(e.key, e.topic, e.dumped) for e in given] == [(e.key, e.topic, e.dumped) for e in made]
    assert [parse_event(e.to_json()).data for e in given] == [e.data for e in made]
    assert len({e.event_id for e in given}) == 6


def test_a_bad_row_refuses_the_batch_naming_the_row_and_field():
    rows = [_punch(n) for n in range(10)]
    rows[7]["employee_id"] = "not a NIP"
    rows[8]["source"] = "fax"
    with pytest.raises(InvalidEvent) as refused:
        make_events("attendance.punch.recorded", [("k", r) for r in rows], "test")
    alone = {}
    for index in (7, 8):
        with pytest.raises(InvalidEvent) as one:
            make_event("attendance.punch.recorded", "k", rows[index], "test")
        alone[index] = one.value.errors["data"]
    assert refused.value.errors == {"data": alone}
    assert set(alone[7]) == {"employee_id"} and set(alone[8]) == {"source"}


def test_rows_missing_a_field_are_refused_as_the_schema_would():
    rows = [_punch(1), {k: v for k, v in _punch(2).items() if k != "zone"}]
    with pytest.raises(InvalidEvent) as refused:
        make_events("attendance.punch.recorded", [("k", r) for r in rows], "test")
    assert refused.value.errors == {"data": {1: {"zone": ["Missing data for required field."]}}}


def test_schemas_with_list_values_or_schema_rules_are_decided_row_by_row(monkeypatch):
    class Window(Schema):
        start = fields.Integer(required=True)
        end = fields.Integer(required=True)
        tags = fields.List(fields.String(), load_default=list)

        @validates_schema
        def ordered(self, data, **_):
            if data["start"] > data["end"]:
                raise ValidationError("start after end", "end")

    from contracts.registry import EVENTS
    monkeypatch.setitem(EVENTS, "test.window.set", ("test.windows", Window))
    good = [("a", {"start": 1, "end": 2, "tags": ["x"]}), ("b", {"start": 1, "end": 3, "tags": []})]
    events = make_events("test.window.set", good, "test")
    one_by_one = [make_event("test.window.set", k, d, "test", e.occurred_at, event_id=e.event_id)
                  for (k, d), e in zip(good, events)]
    assert [e.to_json() for e in events] == [e.to_json() for e in one_by_one]
    with pytest.raises(InvalidEvent) as refused:  # each field fine on its own, the pair is not
        make_events("test.window.set", good + [("c", {"start": 3, "end": 1, "tags": []})], "test")
    assert refused.value.errors == {"data": {2: {"end": ["start after end"]}}}


def test_numbers_of_different_kinds_in_one_field_are_decided_row_by_row():
    rows = [_punch(1, device_status=1), _punch(2, device_status=1.0)]  # 1 == 1.0, yet not the same value
    events = make_events("attendance.punch.recorded", [("k", r) for r in rows], "t")
    assert [e.to_json() for e in events] == [make_event("attendance.punch.recorded", "k", r, "t", e.occurred_at,
                                                        event_id=e.event_id).to_json() for r, e in zip(rows, events)]


def test_an_event_holds_each_argument_in_its_own_field_and_stays_frozen():
    import dataclasses

    from runtime.events import Event
    names = [each.name for each in dataclasses.fields(Event)]
    values = {name: f"value of {name}" for name in names}
    for event in (Event(*values.values()), Event(**values)):
        assert {name: getattr(event, name) for name in names} == values
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.key = "other"
    assert Event(**dict(values, dumped=None)) == Event(**values)  # `dumped` is not compared
    assert Event(**{k: v for k, v in values.items() if k != "dumped"}).dumped is None
    assert dataclasses.replace(Event(**values), key="k2").key == "k2"
