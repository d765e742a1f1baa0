"""The attendance day: from one employee's punches, schedule and absences to one record per local date.

Rules chosen (all numbers come from the AttendancePolicy):
- A punch belongs to the shift whose window (from `punch_window_before_minutes` before its start until
  `punch_window_after_minutes` after its end) contains it, so a night shift's morning clock-out lands on
  the date the shift started; inside several windows, the shift with the nearest start or end wins (the
  earlier shift on a tie); inside none, the punch's own local calendar date.
- Clock-in is the earliest punch and clock-out the latest; the device's status field is ignored. When the
  latest is less than `repeat_punch_minutes` after the earliest, they are one lone punch (a repeated press).
  A lone punch is an arrival at or before the shift's midpoint, a departure after it (an arrival on a day
  without a shift).
- Minutes are whole minutes, seconds dropped (07:30:59 is on time for 07:30). Within the grace, late or
  early minutes are 0; beyond it they count from the scheduled time, in full.
- Overtime counts from the scheduled end (only from `overtime_threshold_minutes` on). On a rest day or a
  holiday the status stays `off`/`holiday` but the punches still give presence, and all of it is overtime.
- Status precedence: holiday, rest day (`off`), an absence covering the date (leave, sick, duty, permission),
  then from punches `late` (late, early, or a punch missing) or `present`; `absent` (TK, *tanpa keterangan*)
  only on a working day with no punch and no absence.
- Bands (TL/PSW) are deductions: set only on a `late` day. Minutes and missing flags are facts, reported on
  any working day even when an absence justifies it; missing flags are never set on rest days or holidays.
"""

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from zoneinfo import ZoneInfo

from .policy import AttendancePolicy
from .records import set_attributes
from .schedule import PlannedShift


class DayStatus(StrEnum):
    """Status of an attendance day."""

    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    LEAVE = "leave"
    SICK = "sick"
    DUTY = "duty"
    PERMISSION = "permission"
    HOLIDAY = "holiday"
    OFF = "off"


class AbsenceKind(StrEnum):
    """A justified absence: leave (*cuti*), sick, official duty (*dinas luar*), permission (*izin*)."""

    LEAVE = "leave"
    SICK = "sick"
    DUTY = "duty"
    PERMISSION = "permission"


# When absences overlap, duty wins: its letter reference explains activities away from the office.
_ABSENCE_PRECEDENCE = (AbsenceKind.DUTY, AbsenceKind.SICK, AbsenceKind.LEAVE, AbsenceKind.PERMISSION)


@dataclass(frozen=True, init=False)
class Punch:
    """One clock event of an employee at a UTC instant."""

    punch_id: str
    at: datetime

    def __init__(self, punch_id: str, at: datetime):
        if at.tzinfo is None:
            raise ValueError("a punch time must be timezone-aware (UTC)")
        set_attributes(self, {"punch_id": punch_id, "at": at})


@dataclass(frozen=True)
class Absence:
    """A justified absence over local dates start_date..end_date inclusive; `reference` is e.g. the duty letter."""

    kind: AbsenceKind
    start_date: date
    end_date: date
    reference: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "kind", AbsenceKind(self.kind))
        if self.end_date < self.start_date:
            raise ValueError("an absence cannot end before it starts")

    def covers(self, local_date: date) -> bool:
        """Whether the absence includes `local_date`."""
        return self.start_date <= local_date <= self.end_date


@dataclass(frozen=True, init=False)
class AttendanceDay:
    """One employee's attendance on one local date (the shared shape)."""

    employee_id: str
    local_date: date
    zone: str
    version: int
    status: DayStatus
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    scheduled_minutes: int
    clock_in: datetime | None
    clock_out: datetime | None
    presence_minutes: int
    late_minutes: int
    early_leave_minutes: int
    overtime_minutes: int
    late_band: str | None
    early_band: str | None
    missing_clock_in: bool
    missing_clock_out: bool
    punch_ids: tuple[str, ...]
    absence_kind: AbsenceKind | None
    absence_reference: str | None

    def __init__(self, employee_id: str, local_date: date, zone: str, version: int, status: DayStatus,
                 scheduled_start: datetime | None, scheduled_end: datetime | None, scheduled_minutes: int,
                 clock_in: datetime | None, clock_out: datetime | None, presence_minutes: int, late_minutes: int,
                 early_leave_minutes: int, overtime_minutes: int, late_band: str | None, early_band: str | None,
                 missing_clock_in: bool, missing_clock_out: bool, punch_ids: tuple[str, ...],
                 absence_kind: AbsenceKind | None, absence_reference: str | None):
        set_attributes(self, {
            "employee_id": employee_id, "local_date": local_date, "zone": zone, "version": version, "status": status,
            "scheduled_start": scheduled_start, "scheduled_end": scheduled_end, "scheduled_minutes": scheduled_minutes,
            "clock_in": clock_in, "clock_out": clock_out, "presence_minutes": presence_minutes,
            "late_minutes": late_minutes, "early_leave_minutes": early_leave_minutes,
            "overtime_minutes": overtime_minutes, "late_band": late_band, "early_band": early_band,
            "missing_clock_in": missing_clock_in, "missing_clock_out": missing_clock_out, "punch_ids": punch_ids,
            "absence_kind": absence_kind, "absence_reference": absence_reference})


def local_time_to_utc(naive_local: datetime, zone: str) -> datetime:
    """The UTC instant of a device's zone-less local time in the IANA `zone` (e.g. Asia/Makassar)."""
    if naive_local.tzinfo is not None:
        raise ValueError("device time must be naive local time")
    # what `naive_local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)` gives (its offset, fold 0), without the
    # intermediate aware datetime: a quarter fewer instructions, once for every punch a device sends
    return (naive_local - ZoneInfo(zone).utcoffset(naive_local)).replace(tzinfo=UTC)


def assign_punches(
    punches: Iterable[Punch],
    shifts_by_date: Mapping[date, PlannedShift | None],
    zone: str,
    policy: AttendancePolicy,
) -> dict[date, tuple[Punch, ...]]:
    """Group punches by the local date they count for (see the module docstring for the window rule).

    `shifts_by_date` must hold the shifts of each punch's local date and of the day before and after.
    """
    return assign_to_windows(punches, shift_windows(shifts_by_date, policy), zone)


# A shift's punch window: (opens, closes, the shift's start, its end, its local date).
Window = tuple[datetime, datetime, datetime, datetime, date]


def shift_windows(shifts_by_date: Mapping[date, PlannedShift | None], policy: AttendancePolicy) -> tuple[Window, ...]:
    """The window in which punches count for each planned shift, in the order of the shifts' starts: (opens,
    closes, the shift's start, its end, its local date). Employees with the same shifts share their windows."""
    before = timedelta(minutes=policy.punch_window_before_minutes)
    after = timedelta(minutes=policy.punch_window_after_minutes)
    return tuple((s.start - before, s.end + after, s.start, s.end, s.local_date)
                 for s in sorted((s for s in shifts_by_date.values() if s is not None), key=_START))


def assign_to_windows(punches: Iterable[Punch], windows: tuple[Window, ...],
                      zone: str) -> dict[date, tuple[Punch, ...]]:
    """`assign_punches` with the shifts' windows given (`shift_windows`)."""
    grouped: dict[date, list[Punch]] = {}
    for punch in sorted(punches, key=_AT):
        at, nearest, local_date = punch.at, None, None
        for opens, closes, start, end, shift_date in windows:  # the nearest start or end wins, the earlier on a tie
            if opens > at:
                break  # every later window opens later still: they open in the order of the shifts' starts
            if at <= closes:
                distance = min(abs(at - start), abs(at - end))
                if nearest is None or distance < nearest:
                    nearest, local_date = distance, shift_date
        if local_date is None:
            local_date = at.astimezone(ZoneInfo(zone)).date()
        grouped.setdefault(local_date, []).append(punch)
    return {local_date: tuple(day_punches) for local_date, day_punches in grouped.items()}


_AT = attrgetter("at")
_START = attrgetter("start")


def build_day(
    employee_id: str,
    local_date: date,
    zone: str,
    shift: PlannedShift | None,
    punches: Iterable[Punch],
    absences: Iterable[Absence],
    is_holiday: bool,
    policy: AttendancePolicy,
    version: int,
) -> AttendanceDay:
    """Build the attendance day of `local_date` from the punches assigned to it (see the module docstring)."""
    ordered = sorted(punches, key=_AT)
    scheduled = None if is_holiday else shift
    clock_in, clock_out = _clock_times(ordered, scheduled, policy)
    single_punch = bool(ordered) and (clock_in is None or clock_out is None)
    missing_clock_in = scheduled is not None and single_punch and clock_in is None
    missing_clock_out = scheduled is not None and single_punch and clock_out is None
    presence = _whole_minutes(clock_in, clock_out) if clock_in and clock_out else 0
    late = _beyond_grace(_whole_minutes(scheduled.start, clock_in), policy.late_grace_minutes) \
        if scheduled and clock_in else 0
    early = _beyond_grace(_whole_minutes(clock_out, scheduled.end), policy.early_leave_grace_minutes) \
        if scheduled and clock_out else 0
    overtime = _overtime(scheduled, clock_out, presence, policy)
    absence = _covering_absence(absences, local_date) if absences else None

    status = _status(is_holiday, scheduled, absence, bool(ordered),
                     bool(late or early or missing_clock_in or missing_clock_out))
    justified = absence if absence is not None and status == absence.kind else None
    deducted = status is DayStatus.LATE

    return AttendanceDay(
        employee_id=employee_id,
        local_date=local_date,
        zone=zone,
        version=version,
        status=status,
        scheduled_start=scheduled.start if scheduled else None,
        scheduled_end=scheduled.end if scheduled else None,
        scheduled_minutes=scheduled.net_minutes if scheduled else 0,
        clock_in=clock_in,
        clock_out=clock_out,
        presence_minutes=presence,
        late_minutes=late,
        early_leave_minutes=early,
        overtime_minutes=overtime,
        late_band=_band(deducted, late, missing_clock_in, policy.late_band, policy.missing_clock_in_band),
        early_band=_band(deducted, early, missing_clock_out, policy.early_leave_band, policy.missing_clock_out_band),
        missing_clock_in=missing_clock_in,
        missing_clock_out=missing_clock_out,
        punch_ids=tuple([p.punch_id for p in ordered]),
        absence_kind=justified.kind if justified else None,
        absence_reference=justified.reference if justified else None,
    )


def _clock_times(ordered: list[Punch], shift: PlannedShift | None, policy: AttendancePolicy):
    """(clock_in, clock_out), either None for a lone punch."""
    if not ordered:
        return None, None
    first, last = ordered[0].at, ordered[-1].at
    if len(ordered) > 1 and last - first >= _minutes(policy.repeat_punch_minutes):
        return first, last
    if shift is None or first <= shift.midpoint:
        return first, None
    return None, last


@functools.lru_cache(maxsize=64)
def _minutes(count: int) -> timedelta:
    """A policy's number of minutes as a timedelta (building one takes longer than a day's other arithmetic)."""
    return timedelta(minutes=count)


def _whole_minutes(earlier: datetime, later: datetime) -> int:
    """`(later - earlier) // 1 minute`, from the difference's normalised days and seconds (seconds always 0..86399,
    microseconds 0..999999, so the minutes are whole for any sign): a timedelta's floor division goes through
    arbitrary-precision microseconds, about five times the instructions."""
    delta = later - earlier
    return delta.days * 1440 + delta.seconds // 60


def _beyond_grace(minutes: int, grace: int) -> int:
    return minutes if minutes > grace else 0


def _status(is_holiday: bool, shift: PlannedShift | None, absence: Absence | None, punched: bool,
            irregular: bool) -> DayStatus:
    """The precedence: holiday, rest day, justified absence, then what the punches show."""
    if is_holiday:
        return DayStatus.HOLIDAY
    if shift is None:
        return DayStatus.OFF
    if absence is not None:
        return DayStatus(absence.kind)
    if not punched:
        return DayStatus.ABSENT
    return DayStatus.LATE if irregular else DayStatus.PRESENT


def _overtime(shift: PlannedShift | None, clock_out: datetime | None, presence: int,
              policy: AttendancePolicy) -> int:
    if clock_out is None:
        return 0
    if shift is None:
        minutes = presence
    else:
        minutes = max(_whole_minutes(shift.end, clock_out), 0)
    return minutes if minutes >= policy.overtime_threshold_minutes else 0


def _band(deducted: bool, minutes: int, missing: bool, band_for, missing_band: str) -> str | None:
    if not deducted:
        return None
    if missing:
        return missing_band
    return band_for(minutes) if minutes else None


def _covering_absence(absences: Iterable[Absence], local_date: date) -> Absence | None:
    covering = [a for a in absences if a.covers(local_date)]
    if not covering:
        return None
    return min(covering, key=lambda a: _ABSENCE_PRECEDENCE.index(a.kind))
