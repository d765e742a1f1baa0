from datetime import UTC, date, datetime, timedelta

import pytest

from attendance.domain.schedule import DayPattern, Schedule, default_schedule, planned_shift, schedule_from_dict

JAKARTA, MAKASSAR, JAYAPURA = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
RAMADAN_2025 = (date(2025, 3, 1), date(2025, 3, 30))
NIGHT_SHIFT = Schedule("rsud-night", "RSUD night shift", tuple(DayPattern(d, "21:00", "07:00", 60) for d in range(7)))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("local_date, zone, start, end, net, variant", [
    (date(2025, 1, 27), JAKARTA, utc(2025, 1, 27, 0, 30), utc(2025, 1, 27, 9, 0), 450, None),   # Monday
    (date(2025, 1, 31), JAKARTA, utc(2025, 1, 31, 0, 30), utc(2025, 1, 31, 9, 30), 450, None),  # Friday, 90 min break
    (date(2025, 1, 27), MAKASSAR, utc(2025, 1, 26, 23, 30), utc(2025, 1, 27, 8, 0), 450, None),  # WITA
    (date(2025, 1, 27), JAYAPURA, utc(2025, 1, 26, 22, 30), utc(2025, 1, 27, 7, 0), 450, None),  # WIT
    (date(2025, 3, 3), JAKARTA, utc(2025, 3, 3, 1, 0), utc(2025, 3, 3, 8, 0), 390, "ramadan"),
    (date(2025, 3, 7), JAKARTA, utc(2025, 3, 7, 1, 0), utc(2025, 3, 7, 8, 30), 390, "ramadan"),
    (date(2025, 3, 1) - timedelta(days=3), JAKARTA,
     utc(2025, 2, 26, 0, 30), utc(2025, 2, 26, 9, 0), 450, None),                                # before Ramadan
])
def test_planned_shift_of_the_national_week(local_date, zone, start, end, net, variant):
    shift = planned_shift(default_schedule([RAMADAN_2025]), local_date, set(), zone)
    assert (shift.local_date, shift.start, shift.end, shift.net_minutes, shift.variant) == (
        local_date, start, end, net, variant)


@pytest.mark.parametrize("ramadan, weekly_minutes", [((), 37 * 60 + 30), ((RAMADAN_2025,), 32 * 60 + 30)])
def test_perpres_weekly_hours(ramadan, weekly_minutes):
    week = [date(2025, 3, 3) + timedelta(days=n) for n in range(7)]
    shifts = [planned_shift(default_schedule(ramadan), d, set(), JAKARTA) for d in week]
    assert sum(s.net_minutes for s in shifts if s) == weekly_minutes
    assert shifts[5] is None and shifts[6] is None  # Saturday and Sunday are rest days


@pytest.mark.parametrize("local_date, variant", [
    (date(2025, 2, 28), None),
    (date(2025, 3, 3), "ramadan"),
    (date(2025, 3, 28), "ramadan"),  # last Friday inside the range
    (date(2025, 4, 8), None),
])
def test_ramadan_variant_applies_by_date_range(local_date, variant):
    assert planned_shift(default_schedule([RAMADAN_2025]), local_date, set(), JAKARTA).variant == variant


def test_no_shift_on_a_holiday():
    assert planned_shift(default_schedule(), date(2025, 1, 27), {date(2025, 1, 27)}, JAKARTA) is None


def test_overnight_shift_ends_the_next_local_day():
    shift = planned_shift(NIGHT_SHIFT, date(2025, 1, 27), set(), JAKARTA)
    assert (shift.start, shift.end, shift.net_minutes) == (utc(2025, 1, 27, 14, 0), utc(2025, 1, 28, 0, 0), 540)
    assert shift.local_date == date(2025, 1, 27)


def test_six_day_week_from_the_shared_shape():
    ramadan_days = [{"weekday": d, "start": "08:00", "end": "14:00", "break_minutes": 30} for d in range(6)]
    surabaya = schedule_from_dict({
        "schedule_id": "sby-6", "name": "Surabaya six-day week",
        "days": [{"weekday": d, "start": "07:30", "end": "15:30", "break_minutes": 60} for d in range(6)],
        "variants": [{"name": "ramadan", "start_date": "2025-03-01", "end_date": "2025-03-30",
                      "days": ramadan_days}],
    })
    saturday = planned_shift(surabaya, date(2025, 1, 25), set(), JAKARTA)
    assert (saturday.start, saturday.net_minutes) == (utc(2025, 1, 25, 0, 30), 420)
    assert planned_shift(surabaya, date(2025, 1, 26), set(), JAKARTA) is None
    assert planned_shift(surabaya, date(2025, 3, 8), set(), JAKARTA).net_minutes == 330


@pytest.mark.parametrize("weekday, start, end, break_minutes", [
    (7, "07:30", "16:00", 60),
    (0, "7:30", "16:00", 60),
    (0, "07:30", "24:00", 60),
    (0, "07:30", "08:00", 30),
    (0, "07:30", "16:00", -5),
])
def test_invalid_day_patterns_are_refused(weekday, start, end, break_minutes):
    with pytest.raises(ValueError):
        DayPattern(weekday, start, end, break_minutes)


def test_a_weekday_cannot_appear_twice():
    with pytest.raises(ValueError):
        Schedule("x", "x", (DayPattern(0, "07:30", "16:00", 60), DayPattern(0, "08:00", "16:00", 60)))
