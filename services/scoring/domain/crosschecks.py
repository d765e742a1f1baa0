"""Cross-checks of one employee's attendance day against their activity entries, and flag diffs."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from operator import attrgetter
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from .policy import ScoringPolicy
from .vocabulary import FlagKind

# Entries in these states claim nothing: withdrawn by the author, rejected or struck (dicoret) by the supervisor.
INACTIVE_STATES = frozenset({"withdrawn", "rejected", "struck"})
ABSENCE_STATUSES = frozenset({"leave", "sick", "duty", "permission"})
PRESENT_STATUSES = frozenset({"present", "late"})

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Day:
    """An attendance day as built by the attendance service (one per employee and local date)."""

    employee_id: str
    local_date: date
    zone: str
    version: int
    status: str
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
    absence_kind: str | None
    absence_reference: str | None
    # check-ins from a phone awaiting the supervisor's review: ((punch id, (doubt kind, ...)), ...)
    doubtful_punches: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, values: Iterable) -> "Day":
        """The Day of every field's value in the fields' order: `Day(*values)`, made without the frozen class's
        `object.__setattr__` per field, its `__dict__` written as one dict display (a dict filled from `zip` of the
        names and values cost three times as much: 7.5 µs a Day against 2.3 on this interpreter; the re-check makes
        one per day it reads or rebuilds). `test_scoring_crosschecks.py` holds it to `Day(*values)`."""
        (employee_id, local_date, zone, version, status, scheduled_start, scheduled_end, scheduled_minutes, clock_in,
         clock_out, presence_minutes, late_minutes, early_leave_minutes, overtime_minutes, late_band, early_band,
         missing_clock_in, missing_clock_out, punch_ids, absence_kind, absence_reference, doubtful_punches) = values
        day = object.__new__(cls)
        day.__dict__.update({
            "employee_id": employee_id, "local_date": local_date, "zone": zone, "version": version, "status": status,
            "scheduled_start": scheduled_start, "scheduled_end": scheduled_end,
            "scheduled_minutes": scheduled_minutes, "clock_in": clock_in, "clock_out": clock_out,
            "presence_minutes": presence_minutes, "late_minutes": late_minutes,
            "early_leave_minutes": early_leave_minutes, "overtime_minutes": overtime_minutes, "late_band": late_band,
            "early_band": early_band, "missing_clock_in": missing_clock_in, "missing_clock_out": missing_clock_out,
            "punch_ids": punch_ids, "absence_kind": absence_kind, "absence_reference": absence_reference,
            "doubtful_punches": doubtful_punches})
        return day


@dataclass(frozen=True)
class Entry:
    """An activity entry as published by the activities service."""

    entry_id: str
    employee_id: str
    local_date: date
    start_at: datetime
    end_at: datetime
    catalogue_item_id: str | None
    quantity: int
    duration_minutes: int
    credited_minutes: int
    state: str
    verified: bool | None
    # Whether approvals says it counts for credit as things stand (its latest decision or verification's
    # `creditable`): approvals alone decides how sampled verification holds minutes back.
    creditable: bool = False


@dataclass(frozen=True)
class Absence:
    """Leave, sick leave, official duty (dinas_luar) or permission (izin) known for the day; no window = all day."""

    kind: str
    reference: str | None
    start_at: datetime | None = None
    end_at: datetime | None = None


@dataclass(frozen=True, init=False)
class Evidence:
    """What a flag rests on: the attendance day version, its punches and the entries involved."""

    day_version: int | None
    punch_ids: tuple[str, ...]
    entry_ids: tuple[str, ...]

    def __init__(self, day_version: int | None, punch_ids: tuple[str, ...], entry_ids: tuple[str, ...]):
        # What the frozen dataclass's own `__init__` does, without its `object.__setattr__` per field (a re-check
        # makes one or more of these, and of `Flag`, per day it checks).
        self.__dict__.update(day_version=day_version, punch_ids=punch_ids, entry_ids=entry_ids)


@dataclass(frozen=True, init=False)
class Flag:
    """A cross-check finding; `key` is its stable identity across re-runs."""

    kind: FlagKind
    employee_id: str
    local_date: date
    key: str
    message: str
    evidence: Evidence

    def __init__(self, kind: FlagKind, employee_id: str, local_date: date, key: str, message: str,
                 evidence: Evidence):
        # As `Evidence.__init__`.
        self.__dict__.update(kind=kind, employee_id=employee_id, local_date=local_date, key=key, message=message,
                             evidence=evidence)


def check_day(
    day: Day | None, entries: Sequence[Entry], absences_known_in_day: Sequence[Absence], policy: ScoringPolicy
) -> list[Flag]:
    """All flags for one employee and local date, sorted by key; the same input always gives the same flags."""
    active = sorted((e for e in entries if e.state not in INACTIVE_STATES),
                    key=lambda e: (e.start_at, e.entry_id)) if entries else []
    if day is None and not active:
        return []
    check = _DayCheck(day, active, absences_known_in_day, policy)
    flags = [*check.missing_punches(), *check.late_and_early(), *check.overtime_without_activity(),
             *check.present_without_activity(), *check.doubtful_presence()]
    if active:  # the checks of the day's entries (each finds nothing without one)
        flags += [*check.outside_attendance(), *check.without_attendance(), *check.overlapping(),
                  *check.exceeds_presence()]
    return sorted(flags, key=_KEY) if len(flags) > 1 else flags


def diff_flags(previous: Iterable[str], current: Iterable[Flag]) -> tuple[list[Flag], list[str]]:
    """Compare two runs by key, the previous one by its flags' keys (a flag's identity, all a diff reads of it):
    (raised = the flags new in current, resolved = the keys gone from current), each sorted by key."""
    before = set(previous)
    after = {flag.key: flag for flag in current}
    raised = [after[key] for key in sorted(after.keys() - before)]
    resolved = sorted(before - after.keys())
    return raised, resolved


def assign_entries_to_days(days: Sequence[Day], entries: Sequence[Entry]) -> dict[date, list[Entry]]:
    """Group entries by attendance day: inside another date's clocked window (a night shift) goes to that date."""
    if not entries:
        return {}
    windows = {day.local_date: _clocked_window(day) for day in days}
    grouped: dict[date, list[Entry]] = {}
    for entry in entries:
        own = windows.get(entry.local_date)
        target = entry.local_date
        if not (own and _contains(own, (entry.start_at, entry.end_at))):
            target = next(
                (d for d, w in sorted(windows.items()) if w and _contains(w, (entry.start_at, entry.end_at))),
                entry.local_date,
            )
        grouped.setdefault(target, []).append(entry)
    return grouped


class _DayCheck:
    """The facts of one day shared by the individual checks. Each check returns its flags as a list (most find
    none, and a generator's frame cost more than the check itself)."""

    def __init__(self, day: Day | None, active: list[Entry], absences: Sequence[Absence], policy: ScoringPolicy):
        self.day = day
        self.active = active
        self.policy = policy
        if day is not None:
            self.employee_id, self.local_date = day.employee_id, day.local_date
            self.zone = ZoneInfo(day.zone)
            self.window = _clocked_window(day)
        else:
            self.employee_id, self.local_date = active[0].employee_id, active[0].local_date
            self.zone = self.window = None
        self.absence_windows = [(a.start_at, a.end_at) for a in absences if a.start_at and a.end_at] if absences else []
        self.absent_all_day = (absences and any(a.start_at is None or a.end_at is None for a in absences)) or (
            day is not None and (day.status in ABSENCE_STATUSES or day.absence_kind is not None)
        )
        # What every flag of the day shares: its key's ending, and the evidence of a flag naming no entry (made once
        # the first such flag needs it; frozen, so one serves them all).
        self.on = self.local_date.isoformat()  # the date as the messages write it (`str` of a date)
        self.key_end = f":{self.employee_id}:{self.on}"
        self.bare_evidence: Evidence | None = None
        self.local_times: dict[datetime, str] = {}  # `_time` of the instants the day's messages name

    def missing_punches(self) -> list[Flag]:
        day = self.day
        if day is None or self.absent_all_day or not (day.missing_clock_in or day.missing_clock_out):
            return []
        flags = []
        if day.missing_clock_in:
            at = f"clocked out at {self._time(day.clock_out)}" if day.clock_out else "a punch was recorded"
            flags.append(self._flag(FlagKind.MISSING_CLOCK_IN,
                                    f"No clock-in on {self.on}: {at} but no clock-in."))
        if day.missing_clock_out:
            at = f"clocked in at {self._time(day.clock_in)}" if day.clock_in else "a punch was recorded"
            flags.append(self._flag(FlagKind.MISSING_CLOCK_OUT,
                                    f"No clock-out on {self.on}: {at} but no clock-out."))
        return flags

    def doubtful_presence(self) -> list[Flag]:
        """A check-in from a phone that something makes doubtful counts as presence only once the supervisor
        confirms it (a rejected one is voided by attendance): until then the day says so, with the punches."""
        day = self.day
        if day is None or not day.doubtful_punches:
            return []
        ids = tuple(punch_id for punch_id, _ in day.doubtful_punches)
        reasons = sorted({kind for _, kinds in day.doubtful_punches for kind in kinds})
        return [Flag(FlagKind.DOUBTFUL_PRESENCE, self.employee_id, self.local_date,
                     f"{FlagKind.DOUBTFUL_PRESENCE.value}:{self.employee_id}:{self.local_date.isoformat()}",
                     f"Check-in from a phone on {day.local_date} awaits the supervisor's review "
                     f"({', '.join(reasons)}): punch {', '.join(ids)}.",
                     Evidence(day.version, ids, ()))]

    def late_and_early(self) -> list[Flag]:
        day = self.day
        if day is None or self.absent_all_day or not (day.late_band or day.early_band):
            return []
        flags = []
        if day.late_band and day.clock_in:
            flags.append(self._flag(
                FlagKind.LATE_ARRIVAL,
                f"Arrived {day.late_minutes} min late ({day.late_band}): clocked in at {self._time(day.clock_in)}, "
                f"scheduled start {self._time(day.scheduled_start)}.",
            ))
        if day.early_band and day.clock_out:
            flags.append(self._flag(
                FlagKind.EARLY_LEAVE,
                f"Left {day.early_leave_minutes} min early ({day.early_band}): clocked out at "
                f"{self._time(day.clock_out)}, scheduled end {self._time(day.scheduled_end)}.",
            ))
        return flags

    def overtime_without_activity(self) -> list[Flag]:
        day = self.day
        if day is None or self.window is None or self.absent_all_day:
            return []
        if day.overtime_minutes < self.policy.overtime_flag_minutes:
            return []
        # Without a schedule (rest day, holiday) the whole presence is overtime.
        start = max(day.scheduled_end or self.window[0], self.window[0])
        overtime = (start, self.window[1])
        overtime_minutes = _minutes([overtime])
        if overtime_minutes <= 0:
            return []
        touching = [e for e in self.active if _overlap((e.start_at, e.end_at), overtime)]
        covered = _minutes(_clip([(e.start_at, e.end_at) for e in touching] + self.absence_windows, overtime))
        ratio = Decimal(covered) / Decimal(overtime_minutes)
        if ratio >= self.policy.overtime_coverage_ratio:
            return []
        since = f"the scheduled end at {self._time(day.scheduled_end)}" if day.scheduled_end else "clock-in"
        return [self._flag(
            FlagKind.OVERTIME_WITHOUT_ACTIVITY,
            f"Clocked out at {self._time(day.clock_out)}, {overtime_minutes} min after {since} "
            f"(overtime {day.overtime_minutes} min), but activities cover only {covered} min "
            f"({_percent(ratio)}%) of that time; at least {_percent(self.policy.overtime_coverage_ratio)}% "
            f"is expected.",
            touching,
        )]

    def outside_attendance(self) -> list[Flag]:
        if self.window is None or self.absent_all_day:
            return []
        slack = timedelta(minutes=self.policy.presence_tolerance_minutes)
        allowed = [(self.window[0] - slack, self.window[1] + slack), *self.absence_windows]
        flags = []
        for entry in self.active:
            outside = _minutes(_subtract((entry.start_at, entry.end_at), allowed))
            if outside > 0:
                flags.append(self._flag(
                    FlagKind.ACTIVITY_OUTSIDE_ATTENDANCE,
                    f"Activity {entry.entry_id} ({self._span(entry.start_at, entry.end_at)}) lies {outside} min "
                    f"outside the clocked presence {self._span(*self.window)} with no official duty or leave "
                    f"covering it.",
                    [entry],
                    per_entry=True,
                ))
        return flags

    def without_attendance(self) -> list[Flag]:
        day = self.day
        if (day is not None and (day.clock_in or day.clock_out or day.punch_ids)) or self.absent_all_day:
            return []  # punched, or away all day
        flags = []
        for entry in self.active:
            if _minutes(_subtract((entry.start_at, entry.end_at), self.absence_windows)) > 0:
                flags.append(self._flag(
                    FlagKind.ACTIVITY_WITHOUT_ATTENDANCE,
                    f"Activity {entry.entry_id} ({self._span(entry.start_at, entry.end_at)}, "
                    f"{entry.duration_minutes} min) on {self.local_date} has no attendance punch and no leave or "
                    f"official duty.",
                    [entry],
                    per_entry=True,
                ))
        return flags

    def overlapping(self) -> list[Flag]:
        flags = []
        for first, second in combinations(self.active, 2):
            shared = _overlap((first.start_at, first.end_at), (second.start_at, second.end_at))
            if shared:
                flags.append(self._flag(
                    FlagKind.OVERLAPPING_ACTIVITIES,
                    f"Activities {first.entry_id} ({self._span(first.start_at, first.end_at)}) and "
                    f"{second.entry_id} ({self._span(second.start_at, second.end_at)}) overlap by "
                    f"{_minutes([shared])} min: the same minutes are claimed twice.",
                    [first, second],
                    per_entry=True,
                ))
        return flags

    def exceeds_presence(self) -> list[Flag]:
        day = self.day
        if day is None or self.window is None or self.absent_all_day or not self.active:
            return []
        claimed = sum(e.duration_minutes for e in self.active)
        # Time on official duty or leave outside the clocked window is presence too.
        allowance = day.presence_minutes + sum(_minutes(_subtract(w, [self.window])) for w in self.absence_windows)
        if claimed <= allowance + self.policy.presence_tolerance_minutes:
            return []
        return [self._flag(
            FlagKind.ACTIVITY_EXCEEDS_PRESENCE,
            f"Activities total {claimed} min but presence is {allowance} min "
            f"(tolerance {self.policy.presence_tolerance_minutes} min).",
            self.active,
        )]

    def present_without_activity(self) -> list[Flag]:
        day = self.day
        if day is None or self.window is None or self.active:
            return []
        if day.status in PRESENT_STATUSES and day.scheduled_minutes > 0 and day.presence_minutes > 0:
            return [self._flag(
                FlagKind.PRESENT_WITHOUT_ACTIVITY,
                f"Present {self._span(*self.window)} ({day.presence_minutes} min) on a working day with no "
                f"activity logged.",
            )]
        return []

    def _flag(self, kind: FlagKind, message: str, entries: Sequence[Entry] = (), per_entry: bool = False) -> Flag:
        key = kind + self.key_end  # a StrEnum: its text is its value
        if not entries:
            evidence = self.bare_evidence
            if evidence is None:
                evidence = self.bare_evidence = self._evidence(())
            return Flag(kind, self.employee_id, self.local_date, key, message, evidence)
        entry_ids = tuple(sorted(e.entry_id for e in entries))
        if per_entry:
            key += ":" + "+".join(entry_ids)
        return Flag(kind, self.employee_id, self.local_date, key, message, self._evidence(entry_ids))

    def _evidence(self, entry_ids: tuple[str, ...]) -> Evidence:
        day = self.day
        return Evidence(day.version, tuple(day.punch_ids), entry_ids) if day else Evidence(None, (), entry_ids)

    def _time(self, instant: datetime | None) -> str:
        if instant is None:
            return "none"
        known = self.local_times.get(instant)
        if known is None:
            if self.zone is None:
                known = f"{_hh_mm(instant.astimezone(ZoneInfo('UTC')))} UTC"
            else:
                known = _hh_mm(instant.astimezone(self.zone))
            self.local_times[instant] = known
        return known

    def _span(self, start: datetime, end: datetime) -> str:
        return f"{self._time(start)}–{self._time(end)}"


_KEY = attrgetter("key")  # a flag's identity, what its day's flags are sorted by


def _hh_mm(local: datetime) -> str:
    """`f"{local:%H:%M}"` without strftime (a flag's message formats several times per day re-checked)."""
    return f"{local.hour:02d}:{local.minute:02d}"


def _clocked_window(day: Day) -> Interval | None:
    if day.clock_in and day.clock_out and day.clock_out > day.clock_in:
        return day.clock_in, day.clock_out
    return None


def _contains(outer: Interval, inner: Interval) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _overlap(a: Interval, b: Interval) -> Interval | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def _clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    return [part for part in (_overlap(i, window) for i in intervals) if part]


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(interval: Interval, holes: Iterable[Interval]) -> list[Interval]:
    """The parts of `interval` not covered by any of `holes`."""
    parts, cursor = [], interval[0]
    for start, end in _merge(_clip(holes, interval)):
        if start > cursor:
            parts.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < interval[1]:
        parts.append((cursor, interval[1]))
    return parts


def _minutes(intervals: Iterable[Interval]) -> int:
    return int(sum((end - start).total_seconds() for start, end in _merge(intervals)) // 60)


def _percent(ratio: Decimal) -> Decimal:
    return (ratio * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
