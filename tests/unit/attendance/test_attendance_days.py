from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from attendance.domain.days import Absence, DayStatus, Punch, assign_punches, build_day, local_time_to_utc
from attendance.domain.policy import AttendancePolicy, Band
from attendance.domain.schedule import DayPattern, Schedule, default_schedule, planned_shift

JAKARTA, MAKASSAR, JAYAPURA = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
NIP = "198507122010012003"
MONDAY = date(2025, 1, 27)
SATURDAY = date(2025, 2, 1)
POLICY = AttendancePolicy()
NIGHT_SHIFT = Schedule("rsud-night", "RSUD night shift", tuple(DayPattern(d, "21:00", "07:00", 60) for d in range(7)))


def at(local_date, hh_mm_ss, zone=JAKARTA):
    """UTC instant of a local wall-clock time on local_date."""
    return local_time_to_utc(datetime.combine(local_date, datetime.strptime(hh_mm_ss, "%H:%M:%S").time()), zone)


def punches(local_date, *times, zone=JAKARTA):
    return [Punch(f"p-{local_date}-{t}", at(local_date, t, zone)) for t in times]


def day(local_date, times=(), zone=JAKARTA, schedule=None, absences=(), is_holiday=False, policy=POLICY):
    shift = planned_shift(schedule or default_schedule(), local_date, set(), zone)
    return build_day(NIP, local_date, zone, shift, punches(local_date, *times, zone=zone), absences, is_holiday,
                     policy, version=3)


@pytest.mark.parametrize("zone, expected", [
    (JAKARTA, datetime(2025, 1, 27, 0, 30, tzinfo=UTC)),
    (MAKASSAR, datetime(2025, 1, 26, 23, 30, tzinfo=UTC)),
    (JAYAPURA, datetime(2025, 1, 26, 22, 30, tzinfo=UTC)),
])
def test_device_local_time_to_utc(zone, expected):
    assert local_time_to_utc(datetime(2025, 1, 27, 7, 30), zone) == expected


def test_device_time_must_be_naive():
    with pytest.raises(ValueError):
        local_time_to_utc(datetime(2025, 1, 27, 7, 30, tzinfo=UTC), JAKARTA)


def test_overnight_hospital_shift_is_one_day_on_its_start_date():
    start_date, next_date = MONDAY, MONDAY + timedelta(days=1)
    shifts = {d: planned_shift(NIGHT_SHIFT, d, set(), JAKARTA) for d in (start_date, next_date)}
    evening, morning = punches(start_date, "20:55:00")[0], punches(next_date, "07:10:00")[0]
    grouped = assign_punches([morning, evening], shifts, JAKARTA, POLICY)
    assert grouped == {start_date: (evening, morning)}
    built = build_day(NIP, start_date, JAKARTA, shifts[start_date], grouped[start_date], [], False, POLICY, 1)
    assert (built.status, built.clock_in, built.clock_out) == (DayStatus.PRESENT, evening.at, morning.at)
    assert (built.presence_minutes, built.late_minutes, built.overtime_minutes, built.scheduled_minutes) == (
        615, 0, 10, 540)


def test_consecutive_night_shifts_each_keep_their_own_punches():
    dates = [MONDAY + timedelta(days=n) for n in range(3)]
    shifts = {d: planned_shift(NIGHT_SHIFT, d, set(), JAKARTA) for d in dates}
    first = punches(dates[0], "20:58:00") + punches(dates[1], "07:02:00")
    second = punches(dates[1], "20:50:00") + punches(dates[2], "07:05:00")
    assert assign_punches(second + first, shifts, JAKARTA, POLICY) == {dates[0]: tuple(first), dates[1]: tuple(second)}


@pytest.mark.parametrize("times, dates", [
    (("07:20:00", "16:05:00"), [MONDAY, MONDAY]),
    (("23:30:00",), [MONDAY]),             # outside every window: its own local date
])
def test_day_shift_punches_stay_on_their_local_date(times, dates):
    shifts = {d: planned_shift(default_schedule(), d, set(), JAKARTA) for d in (MONDAY, MONDAY + timedelta(days=1))}
    grouped = assign_punches(punches(MONDAY, *times), shifts, JAKARTA, POLICY)
    assert [d for d, ps in grouped.items() for _ in ps] == dates


def test_a_punch_between_back_to_back_shifts_goes_to_the_nearest_boundary():
    # Night shift ends 07:00 the next day, a day shift starts 07:30 there: 07:05 is the night's clock-out.
    mixed = Schedule("mix", "mix", (DayPattern(0, "21:00", "07:00", 60), DayPattern(1, "07:30", "16:00", 60)))
    shifts = {d: planned_shift(mixed, d, set(), JAKARTA) for d in (MONDAY, MONDAY + timedelta(days=1))}
    tuesday = MONDAY + timedelta(days=1)
    grouped = assign_punches(punches(tuesday, "07:05:00", "07:25:00"), shifts, JAKARTA, POLICY)
    assert [p.at for p in grouped[MONDAY]] == [at(tuesday, "07:05:00")]
    assert [p.at for p in grouped[tuesday]] == [at(tuesday, "07:25:00")]


@pytest.mark.parametrize("before, after", [(240, 360), (0, 0), (900, 900)])
def test_every_punch_goes_to_the_containing_window_with_the_nearest_boundary_or_else_its_own_date(before, after):
    # Night, day and evening shifts of different lengths, a rest day, windows from none to overlapping three deep:
    # each punch (every minute of six days, ties between two boundaries included) lands where the rule, checked
    # against every window, puts it.
    mixed = Schedule("mix", "mix", (DayPattern(0, "21:00", "07:00", 60), DayPattern(1, "07:30", "16:00", 60),
                                    DayPattern(2, "13:00", "23:00", 30), DayPattern(4, "23:30", "06:00", 0),
                                    DayPattern(5, "00:00", "08:00", 0)))
    policy = AttendancePolicy(punch_window_before_minutes=before, punch_window_after_minutes=after)
    dates = [MONDAY - timedelta(days=1) + timedelta(days=n) for n in range(8)]
    shifts = {d: planned_shift(mixed, d, {MONDAY + timedelta(days=3)}, MAKASSAR) for d in dates}
    every = [Punch(str(n), at(MONDAY, "00:00:00", MAKASSAR) + timedelta(minutes=n)) for n in range(6 * 24 * 60)]

    def expected(punch):
        around = [(min(abs(punch.at - s.start), abs(punch.at - s.end)), s.start, s.local_date)
                  for s in shifts.values() if s is not None
                  and s.start - timedelta(minutes=before) <= punch.at <= s.end + timedelta(minutes=after)]
        return min(around)[2] if around else punch.at.astimezone(ZoneInfo(MAKASSAR)).date()

    grouped = assign_punches(reversed(every), shifts, MAKASSAR, policy)
    assert {p: local_date for local_date, ps in grouped.items() for p in ps} == {p: expected(p) for p in every}
    assert all(list(ps) == sorted(ps, key=lambda p: p.at) for ps in grouped.values())


@pytest.mark.parametrize("zone, times, status, late, band, overtime", [
    (MAKASSAR, ("07:45:00", "16:00:00"), DayStatus.LATE, 15, "TL1", 0),
    (JAYAPURA, ("07:20:00", "16:30:00"), DayStatus.PRESENT, 0, None, 30),
])
def test_wita_and_wit_employees_are_measured_in_their_own_time(zone, times, status, late, band, overtime):
    built = day(MONDAY, times, zone=zone)
    assert (built.status, built.late_minutes, built.late_band, built.overtime_minutes) == (status, late, band, overtime)
    assert built.scheduled_start == at(MONDAY, "07:30:00", zone)
    assert built.zone == zone


@pytest.mark.parametrize("arrival, late, band, status", [
    ("07:29:00", 0, None, DayStatus.PRESENT),
    ("07:30:59", 0, None, DayStatus.PRESENT),   # seconds are dropped
    ("07:31:00", 1, "TL1", DayStatus.LATE),
    ("08:00:00", 30, "TL1", DayStatus.LATE),
    ("08:01:00", 31, "TL2", DayStatus.LATE),
    ("08:30:00", 60, "TL2", DayStatus.LATE),
    ("08:31:00", 61, "TL3", DayStatus.LATE),
    ("09:00:00", 90, "TL3", DayStatus.LATE),
    ("09:01:00", 91, "TL4", DayStatus.LATE),
    ("11:30:00", 240, "TL4", DayStatus.LATE),
])
def test_late_arrival_bands(arrival, late, band, status):
    built = day(MONDAY, (arrival, "16:00:00"))
    assert (built.late_minutes, built.late_band, built.status, built.early_band) == (late, band, status, None)


@pytest.mark.parametrize("micros", [0, 1, 999_999, 59_999_999, 60_000_000, 60_000_001, 3_599_999_999,
                                    86_399_999_999, 86_400_000_000, 90_061_000_001, 7 * 86_400_000_000 + 1])
@pytest.mark.parametrize("sign", [1, -1])
def test_the_minutes_between_two_instants_are_whole_minutes_rounded_down_whatever_the_sign(micros, sign):
    from attendance.domain.days import _whole_minutes
    start = datetime(2025, 1, 27, 0, 30, tzinfo=UTC)
    later = start + timedelta(microseconds=sign * micros)
    assert _whole_minutes(start, later) == (later - start) // timedelta(minutes=1)


@pytest.mark.parametrize("departure, early, band", [
    ("16:00:00", 0, None),
    ("15:59:00", 1, "PSW1"),
    ("15:30:00", 30, "PSW1"),
    ("15:29:00", 31, "PSW2"),
    ("14:59:00", 61, "PSW3"),
    ("14:29:00", 91, "PSW4"),
])
def test_early_leave_bands(departure, early, band):
    built = day(MONDAY, ("07:25:00", departure))
    assert (built.early_leave_minutes, built.early_band, built.late_band) == (early, band, None)
    assert built.status == (DayStatus.LATE if early else DayStatus.PRESENT)


@pytest.mark.parametrize("arrival, departure, late, early, status", [
    ("07:40:00", "15:50:00", 0, 0, DayStatus.PRESENT),    # inside a 10-minute grace both ways
    ("07:41:00", "15:49:00", 11, 11, DayStatus.LATE),     # beyond it, counted from the schedule in full
])
def test_grace_minutes(arrival, departure, late, early, status):
    grace = replace(POLICY, late_grace_minutes=10, early_leave_grace_minutes=10)
    built = day(MONDAY, (arrival, departure), policy=grace)
    assert (built.late_minutes, built.early_leave_minutes, built.status) == (late, early, status)


@pytest.mark.parametrize("times, clock_in, clock_out, missing_in, missing_out, late_band, early_band", [
    (("07:25:00",), "07:25:00", None, False, True, None, "PSW4"),
    (("11:44:00",), "11:44:00", None, False, True, "TL4", "PSW4"),    # midpoint of 07:30-16:00 is 11:45
    (("11:46:00",), None, "11:46:00", True, False, "TL4", "PSW4"),
    (("16:05:00",), None, "16:05:00", True, False, "TL4", None),
    (("07:25:00", "07:27:30"), "07:25:00", None, False, True, None, "PSW4"),  # a repeated press is one punch
])
def test_single_punch_is_a_missing_clock_in_or_clock_out(times, clock_in, clock_out, missing_in, missing_out,
                                                         late_band, early_band):
    built = day(MONDAY, times)
    assert built.clock_in == (at(MONDAY, clock_in) if clock_in else None)
    assert built.clock_out == (at(MONDAY, clock_out) if clock_out else None)
    assert (built.missing_clock_in, built.missing_clock_out) == (missing_in, missing_out)
    assert (built.late_band, built.early_band, built.status) == (late_band, early_band, DayStatus.LATE)
    assert built.presence_minutes == 0
    assert len(built.punch_ids) == len(times)


def test_clock_times_ignore_punch_order_and_device_status():
    built = day(MONDAY, ("12:00:00", "16:10:00", "07:20:00", "13:00:00"))
    assert (built.clock_in, built.clock_out) == (at(MONDAY, "07:20:00"), at(MONDAY, "16:10:00"))
    assert built.punch_ids == tuple(f"p-{MONDAY}-{t}" for t in ("07:20:00", "12:00:00", "13:00:00", "16:10:00"))
    assert (built.presence_minutes, built.overtime_minutes, built.version) == (530, 10, 3)


@pytest.mark.parametrize("departure, threshold, overtime", [
    ("16:20:00", 0, 20),
    ("16:20:00", 30, 0),
    ("16:45:00", 30, 45),
])
def test_overtime_after_the_scheduled_end(departure, threshold, overtime):
    built = day(MONDAY, ("07:25:00", departure), policy=replace(POLICY, overtime_threshold_minutes=threshold))
    assert built.overtime_minutes == overtime


@pytest.mark.parametrize("local_date, is_holiday, times, status, presence, overtime", [
    (MONDAY, True, (), DayStatus.HOLIDAY, 0, 0),
    (MONDAY, True, ("08:00:00", "12:00:00"), DayStatus.HOLIDAY, 240, 240),
    (SATURDAY, False, (), DayStatus.OFF, 0, 0),
    (SATURDAY, False, ("09:00:00", "11:30:00"), DayStatus.OFF, 150, 150),
    (SATURDAY, False, ("09:00:00",), DayStatus.OFF, 0, 0),
])
def test_holidays_and_rest_days_expect_no_work_but_count_what_was_done(local_date, is_holiday, times, status,
                                                                      presence, overtime):
    built = day(local_date, times, is_holiday=is_holiday)
    assert (built.status, built.presence_minutes, built.overtime_minutes) == (status, presence, overtime)
    assert (built.scheduled_start, built.scheduled_minutes, built.late_band, built.early_band) == (None, 0, None, None)
    assert (built.missing_clock_in, built.missing_clock_out) == (False, False)


def test_absent_only_when_work_was_expected():
    built = day(MONDAY)
    assert (built.status, built.late_band, built.early_band, built.missing_clock_in) == (
        DayStatus.ABSENT, None, None, False)
    assert built.scheduled_minutes == 450


LEAVE = Absence("leave", MONDAY - timedelta(days=2), MONDAY + timedelta(days=2))
DUTY = Absence("duty", MONDAY, MONDAY, reference="800/123/BKPSDM/2025")
SICK_LAST_WEEK = Absence("sick", MONDAY - timedelta(days=7), MONDAY - timedelta(days=1))


@pytest.mark.parametrize("absences, times, is_holiday, status, kind, reference", [
    ([LEAVE], (), False, DayStatus.LEAVE, "leave", None),
    ([DUTY], (), False, DayStatus.DUTY, "duty", "800/123/BKPSDM/2025"),
    ([LEAVE, DUTY], (), False, DayStatus.DUTY, "duty", "800/123/BKPSDM/2025"),
    ([SICK_LAST_WEEK], (), False, DayStatus.ABSENT, None, None),
    ([LEAVE], (), True, DayStatus.HOLIDAY, None, None),            # leave is not spent on a holiday
    ([DUTY], ("09:45:00",), False, DayStatus.DUTY, "duty", "800/123/BKPSDM/2025"),
])
def test_an_absence_covering_the_date_justifies_it(absences, times, is_holiday, status, kind, reference):
    built = day(MONDAY, times, absences=absences, is_holiday=is_holiday)
    assert (built.status, built.absence_kind, built.absence_reference) == (status, kind, reference)
    assert (built.late_band, built.early_band) == (None, None)


def test_justified_day_still_reports_the_punch_facts():
    built = day(MONDAY, ("09:45:00",), absences=[DUTY])
    assert (built.late_minutes, built.missing_clock_out) == (135, True)


@pytest.mark.parametrize("arrival, status, late", [
    ("08:00:00", DayStatus.PRESENT, 0),  # 30 minutes late on an ordinary day
    ("08:10:00", DayStatus.LATE, 10),
])
def test_ramadan_hours_on_a_ramadan_date(arrival, status, late):
    ramadan = default_schedule([(date(2025, 3, 1), date(2025, 3, 30))])
    built = day(date(2025, 3, 3), (arrival, "15:00:00"), schedule=ramadan)
    assert (built.status, built.late_minutes, built.scheduled_minutes) == (status, late, 390)


@pytest.mark.parametrize("arrival, band", [
    ("07:59:00", "TL1"), ("08:00:00", "TL2"), ("08:30:00", "TL3"), (None, "TL3"),
])
def test_a_region_with_three_late_bands(arrival, band):
    three_bands = replace(POLICY, late_bands=(Band("TL1", 1, 29), Band("TL2", 30, 59), Band("TL3", 60, None)),
                          missing_clock_in_band="TL3")
    built = day(MONDAY, (arrival, "16:00:00") if arrival else ("16:00:00",), policy=three_bands)
    assert built.late_band == band


def test_punch_must_be_timezone_aware():
    with pytest.raises(ValueError):
        Punch("p1", datetime(2025, 1, 27, 7, 30))
