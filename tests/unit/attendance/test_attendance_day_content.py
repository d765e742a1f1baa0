"""A built day's stored content and event data are its own values (`days._day_content`), written as JSON by
`runtime.jsoncodec`: the text must be the one the `attendance.day.built` schema's dump gives, whatever the day."""
import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from attendance.domain.adms import AttlogRecord
from attendance.domain.days import Absence, AttendanceDay, Punch, build_day, local_time_to_utc
from attendance.domain.policy import AttendancePolicy
from attendance.domain.schedule import DayPattern, Schedule, default_schedule, planned_shift
from attendance.handlers.days import _day_content
from runtime import jsoncodec
from runtime.events import dump_data

NIP = "198507122010012003"
MONDAY, SATURDAY = date(2025, 1, 27), date(2025, 2, 1)
NIGHT = Schedule("night", "Night", tuple(DayPattern(d, "21:00", "07:00", 60) for d in range(7)))


def _punch(n, local_date, hh_mm, zone, micro=0):
    local = datetime.combine(local_date, datetime.strptime(hh_mm, "%H:%M").time()).replace(microsecond=micro)
    return Punch(f"p{n}", local_time_to_utc(local, zone))


def _day(local_date, times, zone="Asia/Jakarta", schedule=None, absences=(), holiday=False, micro=0):
    shift = planned_shift(schedule or default_schedule(), local_date, set(), zone)
    punches = [_punch(n, local_date, t, zone, micro) for n, t in enumerate(times)]
    return build_day(NIP, local_date, zone, shift, punches, absences, holiday, AttendancePolicy(), version=4)


DAYS = {
    "present": lambda: _day(MONDAY, ("07:20", "16:05")),
    "late, bands, microseconds": lambda: _day(MONDAY, ("08:47", "15:01"), micro=123456),
    "lone punch": lambda: _day(MONDAY, ("07:31",), zone="Asia/Makassar"),
    "absent": lambda: _day(MONDAY, ()),
    "rest day with overtime": lambda: _day(SATURDAY, ("09:00", "12:00"), zone="Asia/Jayapura"),
    "holiday": lambda: _day(MONDAY, ("07:00", "16:00"), holiday=True),
    "duty": lambda: _day(MONDAY, (), absences=(Absence("duty", MONDAY, MONDAY + timedelta(days=2), "ST-9/2025"),)),
    "night shift": lambda: _day(MONDAY, ("20:55",), schedule=NIGHT),
}


@pytest.mark.parametrize("name", DAYS)
def test_a_days_content_is_written_as_its_dump_without_the_version(name):
    built = DAYS[name]()
    dumped = dump_data("attendance.day.built", vars(built))
    del dumped["version"]
    content = _day_content(built)
    assert list(content) == list(dumped)
    assert jsoncodec.dumps(content) == jsoncodec.dumps(dumped)
    assert jsoncodec.dumps(content, sort_keys=True) == jsoncodec.dumps(dumped, sort_keys=True)
    assert built.version == 4 and "version" not in content  # the day itself is left as it was built


def test_the_instants_of_a_built_day_are_in_utc():
    """Why the check above holds for any day: every instant of a built day is in UTC (`datetime.UTC`), which orjson
    writes as `isoformat()` does (it would drop the seconds of an old local mean time's offset)."""
    built = DAYS["present"]()
    assert all(getattr(built, name).tzinfo is UTC for name in ("scheduled_start", "scheduled_end", "clock_in",
                                                               "clock_out"))


@pytest.mark.parametrize("record", [Punch, AttendanceDay, AttlogRecord])
def test_a_records_own_init_sets_exactly_its_fields_in_their_order(record):
    """`Punch`, `AttendanceDay` and `AttlogRecord` set their attributes in one step (their own `__init__`): a field
    added to the class but not to its `__init__`, or set under another name, fails here."""
    names = [f.name for f in dataclasses.fields(record)]
    values = {name: datetime(2025, 1, 27, n, tzinfo=UTC) if name == "at" else f"{name}-{n}"
              for n, name in enumerate(names)}
    made = record(**values)
    assert list(vars(made)) == names and vars(made) == values
    assert made == record(*values.values()) and hash(made) == hash(record(**values))
    assert dataclasses.replace(made, **{names[0]: "other"}) != made
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, names[0], "changed")
