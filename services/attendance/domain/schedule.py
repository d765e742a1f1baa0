"""Working schedules and the shift they plan for a local date."""

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class DayPattern:
    """The working hours of one weekday (0 = Monday); `end <= start` means the shift ends the next day."""

    weekday: int
    start: str  # "HH:MM", local time
    end: str
    break_minutes: int

    def __post_init__(self):
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6, not {self.weekday}")
        for value in (self.start, self.end):
            if not _HH_MM.fullmatch(value):
                raise ValueError(f"time must be HH:MM, not {value!r}")
        if not 0 <= self.break_minutes < self.gross_minutes:
            raise ValueError(f"break_minutes must be 0 or more and shorter than the shift, not {self.break_minutes}")

    @property
    def crosses_midnight(self) -> bool:
        """Whether the shift ends on the next local date."""
        return self.end <= self.start

    @property
    def gross_minutes(self) -> int:
        """Length of the shift including its break."""
        minutes = _minutes_of_day(self.end) - _minutes_of_day(self.start)
        return minutes + 24 * 60 if minutes <= 0 else minutes


@dataclass(frozen=True)
class Variant:
    """Replacement week (e.g. "ramadan") on the local dates from start_date to end_date inclusive."""

    name: str
    start_date: date
    end_date: date
    days: tuple[DayPattern, ...]

    def __post_init__(self):
        if self.end_date < self.start_date:
            raise ValueError(f"variant {self.name!r} ends before it starts")
        _check_unique_weekdays(self.days)

    def covers(self, local_date: date) -> bool:
        """Whether this variant applies on `local_date`."""
        return self.start_date <= local_date <= self.end_date


@dataclass(frozen=True)
class Schedule:
    """A weekly working pattern with dated variants; a weekday absent from `days` is a rest day."""

    schedule_id: str
    name: str
    days: tuple[DayPattern, ...]
    variants: tuple[Variant, ...] = ()

    def __post_init__(self):
        _check_unique_weekdays(self.days)


@dataclass(frozen=True)
class PlannedShift:
    """The expected working window of one local date, in UTC."""

    local_date: date
    start: datetime
    end: datetime
    break_minutes: int
    net_minutes: int
    variant: str | None  # the variant's name, None for the regular week

    @property
    def midpoint(self) -> datetime:
        """Halfway between start and end: a lone punch before it is an arrival, after it a departure."""
        return self.start + (self.end - self.start) / 2


def planned_shift(schedule: Schedule, local_date: date, holidays: Collection[date], zone: str) -> PlannedShift | None:
    """The shift expected on `local_date` in `zone`, or None on a rest day or a holiday."""
    if local_date in holidays:
        return None
    variant = next((v for v in schedule.variants if v.covers(local_date)), None)
    patterns = variant.days if variant else schedule.days
    pattern = next((p for p in patterns if p.weekday == local_date.weekday()), None)
    if pattern is None:
        return None
    tz = ZoneInfo(zone)
    local_start = datetime.combine(local_date, _time(pattern.start), tz)
    end_date = local_date + timedelta(days=1) if pattern.crosses_midnight else local_date
    local_end = datetime.combine(end_date, _time(pattern.end), tz)
    start, end = local_start.astimezone(UTC), local_end.astimezone(UTC)
    return PlannedShift(
        local_date=local_date,
        start=start,
        end=end,
        break_minutes=pattern.break_minutes,
        net_minutes=(end - start) // timedelta(minutes=1) - pattern.break_minutes,
        variant=variant.name if variant else None,
    )


def default_schedule(ramadan_periods: Iterable[tuple[date, date]] = ()) -> Schedule:
    """The Perpres 21/2023 week (37 h 30 min net), with its Ramadan week (32 h 30 min) on the given date ranges."""
    regular = (
        *(DayPattern(weekday, "07:30", "16:00", 60) for weekday in range(4)),
        DayPattern(4, "07:30", "16:30", 90),
    )
    ramadan = (
        *(DayPattern(weekday, "08:00", "15:00", 30) for weekday in range(4)),
        DayPattern(4, "08:00", "15:30", 60),
    )
    return Schedule(
        schedule_id="perpres-21-2023",
        name="Perpres 21/2023 five-day week",
        days=regular,
        variants=tuple(Variant("ramadan", start, end, ramadan) for start, end in ramadan_periods),
    )


def schedule_from_dict(data: Mapping) -> Schedule:
    """Build a Schedule from the shared shape (dates as `date` or ISO strings); raises ValueError or KeyError."""
    return Schedule(
        schedule_id=str(data["schedule_id"]),
        name=str(data["name"]),
        days=tuple(_pattern_from_dict(day) for day in data["days"]),
        variants=tuple(
            Variant(
                name=str(variant["name"]),
                start_date=_date(variant["start_date"]),
                end_date=_date(variant["end_date"]),
                days=tuple(_pattern_from_dict(day) for day in variant["days"]),
            )
            for variant in data.get("variants", ())
        ),
    )


def _pattern_from_dict(day: Mapping) -> DayPattern:
    return DayPattern(int(day["weekday"]), str(day["start"]), str(day["end"]), int(day["break_minutes"]))


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _time(hh_mm: str) -> time:
    hours, minutes = hh_mm.split(":")
    return time(int(hours), int(minutes))


def _minutes_of_day(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def _check_unique_weekdays(days: tuple[DayPattern, ...]) -> None:
    weekdays = [day.weekday for day in days]
    if len(weekdays) != len(set(weekdays)):
        raise ValueError(f"a weekday appears twice: {sorted(weekdays)}")
