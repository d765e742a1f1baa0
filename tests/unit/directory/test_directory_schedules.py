import copy
from datetime import date, time

import pytest
from marshmallow import ValidationError

from directory.domain.schedules import (
    DayPattern,
    Holiday,
    perpres_21_2023,
    ramadan_variant,
    schedule_to_dict,
    shift,
    six_day_week,
    validate_holidays,
    validate_schedule,
    weekly_net_minutes,
)

OFFICE = {
    "schedule_id": "office",
    "name": "Office hours",
    "days": [
        {"weekday": 0, "start": "07:30", "end": "16:00", "break_minutes": 60},
        {"weekday": 4, "start": "07:30", "end": "16:30", "break_minutes": 90},
    ],
    "variants": [
        {
            "name": "ramadan",
            "start_date": "2025-03-01",
            "end_date": "2025-03-30",
            "days": [{"weekday": 0, "start": "08:00", "end": "15:00", "break_minutes": 30}],
        },
        {
            "name": "mudik",
            "start_date": "2025-03-31",
            "end_date": "2025-04-07",
            "days": [{"weekday": 1, "start": "08:00", "end": "12:00", "break_minutes": 0}],
        },
    ],
}


@pytest.mark.parametrize(
    ("days", "minutes"),
    [
        (perpres_21_2023(), 37 * 60 + 30),
        (ramadan_variant(date(2026, 2, 18), date(2026, 3, 19)).days, 32 * 60 + 30),
        (six_day_week(), 37 * 60 + 30),
        (shift("21:00", "07:00", 60, range(7)), 7 * 9 * 60),
        (shift("07:00", "07:00", 120, [0, 3]), 2 * 22 * 60),
        ((), 0),
    ],
)
def test_weekly_net_minutes(days, minutes):
    assert weekly_net_minutes(days) == minutes


def test_perpres_week_is_monday_to_friday_from_0730():
    week = perpres_21_2023()
    assert [day.weekday for day in week] == [0, 1, 2, 3, 4]
    assert {day.start for day in week} == {time(7, 30)}
    assert week[4] == DayPattern(4, time(7, 30), time(16, 30), 90)


def test_six_day_week_works_saturday_morning():
    saturday = six_day_week()[-1]
    assert (saturday.weekday, saturday.start, saturday.end) == (5, time(7), time(12, 30))


def test_ramadan_variant_covers_its_dates():
    variant = ramadan_variant(date(2026, 2, 18), date(2026, 3, 19))
    assert (variant.name, variant.start_date, variant.end_date) == ("ramadan", date(2026, 2, 18), date(2026, 3, 19))
    assert variant.days[0] == DayPattern(0, time(8), time(15), 30)


def test_overnight_shift_belongs_to_the_day_it_starts():
    night = shift("21:00", "07:00", 60, [5, 6, 0])
    assert [day.weekday for day in night] == [5, 6, 0]
    assert all(day.crosses_midnight and day.span_minutes == 600 and day.net_minutes == 540 for day in night)


def test_a_valid_schedule_round_trips_through_the_shared_shape():
    schedule = validate_schedule(OFFICE)
    assert schedule.days[1] == DayPattern(4, time(7, 30), time(16, 30), 90)
    assert schedule.variants[0].start_date == date(2025, 3, 1)
    assert schedule_to_dict(schedule) == OFFICE


def test_break_defaults_to_none_and_variants_to_empty():
    schedule = validate_schedule(
        {"schedule_id": "s", "name": "guard", "days": [{"weekday": 6, "start": "22:00", "end": "06:00"}]}
    )
    assert schedule.days == (DayPattern(6, time(22), time(6), 0),)
    assert schedule.variants == ()


def _with(path, value):
    data = copy.deepcopy(OFFICE)
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return data


_DELETE = object()


def _messages_at(messages, path):
    for key in path:
        messages = messages[key]
    return messages


@pytest.mark.parametrize(
    ("path", "value", "error_path", "message"),
    [
        (("days", 0, "start"), "7:30", ("days", 0, "start"), "Use HH:MM"),
        (("days", 0, "start"), "07:60", ("days", 0, "start"), "Use HH:MM"),
        (("days", 0, "end"), "24:00", ("days", 0, "end"), "Use HH:MM"),
        (("days", 0, "end"), "16:00:00", ("days", 0, "end"), "Use HH:MM"),
        (("days", 0, "start"), 730, ("days", 0, "start"), "Use HH:MM"),
        (("days", 0, "weekday"), 7, ("days", 0, "weekday"), "greater than or equal to 0 and less than or equal to 6"),
        (("days", 0, "weekday"), -1, ("days", 0, "weekday"), "greater than or equal to 0"),
        (("days", 1, "weekday"), 0, ("days", 1, "weekday"), "Mon is given twice"),
        (("days", 0, "break_minutes"), 510, ("days", 0, "break_minutes"), "shorter than the shift (510 minutes)"),
        (("days", 0, "break_minutes"), -5, ("days", 0, "break_minutes"), "greater than or equal to 0"),
        (("days", 0, "weekday"), _DELETE, ("days", 0, "weekday"), "required"),
        (("days",), [], ("days",), "Shorter than minimum length 1"),
        (("schedule_id",), _DELETE, ("schedule_id",), "required"),
        (("name",), "", ("name",), "Shorter than minimum length 1"),
        (("colour",), "blue", ("colour",), "Unknown field"),
        (("variants", 0, "end_date"), "2025-02-28", ("variants", 0, "end_date"), "must not be before the start"),
        (("variants", 0, "days", 0, "start"), "8:00", ("variants", 0, "days", 0, "start"), "Use HH:MM"),
        (("variants", 0, "days"), [], ("variants", 0, "days"), "Shorter than minimum length 1"),
        (("variants", 1, "start_date"), "2025-03-30", ("variants", 1, "start_date"), "Overlaps variant 'ramadan'"),
        (("variants", 0, "name"), "", ("variants", 0, "name"), "Shorter than minimum length 1"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(path, value, error_path, message):
    with pytest.raises(ValidationError) as refused:
        validate_schedule(_with(path, value))
    assert any(message in text for text in _messages_at(refused.value.messages, error_path))


@pytest.mark.parametrize(
    ("days", "error_index"),
    [
        # Monday night shift runs until 07:00 Tuesday, but Tuesday starts at 06:00.
        ([("0", "21:00", "07:00"), ("1", "06:00", "14:00")], 1),
        # Sunday night runs into Monday morning across the week boundary.
        ([("0", "07:30", "16:00"), ("6", "22:00", "08:00")], 0),
    ],
)
def test_a_shift_may_not_start_before_the_previous_night_shift_ends(days, error_index):
    data = {
        "schedule_id": "s",
        "name": "s",
        "days": [{"weekday": int(weekday), "start": start, "end": end} for weekday, start, end in days],
    }
    with pytest.raises(ValidationError) as refused:
        validate_schedule(data)
    assert "Starts before the previous shift" in refused.value.messages["days"][error_index]["start"][0]


def test_a_shift_may_start_when_the_previous_one_ends():
    back_to_back = shift("07:00", "07:00", 120, [0, 1])
    assert [day.span_minutes for day in back_to_back] == [1440, 1440]


@pytest.mark.parametrize(
    ("start", "end", "break_minutes", "weekdays"),
    [
        ("21:00", "7:00", 60, [0]),
        ("08:00", "09:00", 60, [0]),
        ("08:00", "16:00", 60, [7]),
        ("08:00", "16:00", 60, [1, 1]),
        ("08:00", "16:00", 60, []),
    ],
)
def test_shift_refuses_what_the_schedule_rules_refuse(start, end, break_minutes, weekdays):
    with pytest.raises(ValidationError):
        shift(start, end, break_minutes, weekdays)


def test_holidays_are_read_and_a_repeated_date_refused():
    items = [{"date": "2025-08-17", "name": "Hari Kemerdekaan"}, {"date": "2025-03-31", "name": "Idul Fitri"}]
    assert validate_holidays(items) == (
        Holiday(date(2025, 8, 17), "Hari Kemerdekaan"),
        Holiday(date(2025, 3, 31), "Idul Fitri"),
    )
    with pytest.raises(ValidationError) as refused:
        validate_holidays([*items, {"date": "2025-08-17", "name": "Cuti bersama"}])
    assert refused.value.messages == {2: {"date": ["2025-08-17 is already listed at 0."]}}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"date": "2025-02-30", "name": "x"}, "date"),
        ({"date": "2025-08-17", "name": ""}, "name"),
        ({"name": "x"}, "date"),
    ],
)
def test_a_bad_holiday_is_refused_naming_the_field(item, field):
    with pytest.raises(ValidationError) as refused:
        validate_holidays([item])
    assert field in refused.value.messages[0]
