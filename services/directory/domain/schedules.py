"""Work schedules and the holiday calendar, in the shared shape that attendance interprets.

A schedule lists the working weekdays (0 = Monday .. 6 = Sunday; an absent weekday is a rest day),
each with local start and end times "HH:MM" and an unpaid break; `end <= start` means the shift
crosses midnight and belongs to the date it starts on (`end == start` is a 24-hour shift). Variants
(e.g. Ramadan) replace the days on the dates of their inclusive range.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

MINUTES_PER_DAY = 24 * 60
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True)
class DayPattern:
    """The working hours of one weekday."""

    weekday: int
    start: time
    end: time
    break_minutes: int = 0

    @property
    def crosses_midnight(self) -> bool:
        """Whether the shift ends on the next local date."""
        return self.end <= self.start

    @property
    def span_minutes(self) -> int:
        """Minutes from start to end, break included."""
        return (_minute_of_day(self.end) - _minute_of_day(self.start)) % MINUTES_PER_DAY or MINUTES_PER_DAY

    @property
    def net_minutes(self) -> int:
        """Minutes of work expected: the span less the break."""
        return self.span_minutes - self.break_minutes


@dataclass(frozen=True)
class Variant:
    """Days that replace a schedule's usual days between two local dates, both included."""

    name: str
    start_date: date
    end_date: date
    days: tuple[DayPattern, ...]


@dataclass(frozen=True)
class Schedule:
    """A named weekly working pattern with its dated variants."""

    schedule_id: str
    name: str
    days: tuple[DayPattern, ...]
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class Holiday:
    """A date on which no work is expected: a national holiday or *cuti bersama* (collective leave)."""

    date: date
    name: str


def weekly_net_minutes(days: Iterable[DayPattern]) -> int:
    """Net working minutes of a week made of `days`."""
    return sum(day.net_minutes for day in days)


def validate_schedule(data: Mapping[str, Any]) -> Schedule:
    """Build a Schedule from its shared-shape dict, raising ValidationError with per-field messages."""
    return _ScheduleSchema().load(data)


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """The shared-shape dict of a schedule (times "HH:MM", dates ISO), the inverse of validate_schedule."""
    return _ScheduleSchema().dump(schedule)


def validate_holidays(items: Iterable[Mapping[str, Any]]) -> tuple[Holiday, ...]:
    """Build a holiday calendar from `{date, name}` dicts, refusing a date listed twice."""
    holidays = _HolidaySchema(many=True).load(list(items))
    first_index: dict[date, int] = {}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, holiday in enumerate(holidays):
        if holiday.date in first_index:
            errors[index] = {"date": [f"{holiday.date.isoformat()} is already listed at {first_index[holiday.date]}."]}
        first_index.setdefault(holiday.date, index)
    if errors:
        raise ValidationError(errors)
    return tuple(holidays)


def perpres_21_2023() -> tuple[DayPattern, ...]:
    """The national 5-day week (Perpres 21/2023): Mon-Thu 07:30-16:00 break 60, Fri 07:30-16:30 break 90."""
    return _week(("07:30", "16:00", 60), ("07:30", "16:30", 90))


def six_day_week() -> tuple[DayPattern, ...]:
    """The 6-day week of Keppres 68/1995, kept by some regions: 37 h 30 min with no set break.

    Mon-Thu 07:00-14:00, Fri 07:00-11:00 (Friday prayers), Sat 07:00-12:30.
    """
    return (
        *(_day(weekday, "07:00", "14:00", 0) for weekday in range(4)),
        _day(4, "07:00", "11:00", 0),
        _day(5, "07:00", "12:30", 0),
    )


def ramadan_variant(start_date: date, end_date: date) -> Variant:
    """The national Ramadan hours (32 h 30 min): Mon-Thu 08:00-15:00 break 30, Fri 08:00-15:30 break 60."""
    return Variant("ramadan", start_date, end_date, _week(("08:00", "15:00", 30), ("08:00", "15:30", 60)))


def shift(start: str, end: str, break_minutes: int, weekdays: Iterable[int]) -> tuple[DayPattern, ...]:
    """The same shift on each of `weekdays`, e.g. a night shift shift("21:00", "07:00", 60, range(7)).

    Raises ValidationError when the times, break or weekdays break the schedule rules.
    """
    return (
        _ScheduleSchema()
        .load(
            {
                "schedule_id": "shift",
                "name": "shift",
                "days": [
                    {"weekday": weekday, "start": start, "end": end, "break_minutes": break_minutes}
                    for weekday in weekdays
                ],
            }
        )
        .days
    )


def _week(monday_to_thursday: tuple[str, str, int], friday: tuple[str, str, int]) -> tuple[DayPattern, ...]:
    return (*(_day(weekday, *monday_to_thursday) for weekday in range(4)), _day(4, *friday))


def _day(weekday: int, start: str, end: str, break_minutes: int) -> DayPattern:
    return DayPattern(weekday, time.fromisoformat(start), time.fromisoformat(end), break_minutes)


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _label(day: DayPattern) -> str:
    return f"{WEEKDAY_NAMES[day.weekday]} {day.start:%H:%M}-{day.end:%H:%M}"


def _day_list_errors(days: list[DayPattern]) -> dict[int, dict[str, list[str]]]:
    """Errors by list index: a weekday given twice, or a shift starting before the previous day's ends."""
    errors: dict[int, dict[str, list[str]]] = {}
    by_weekday: dict[int, DayPattern] = {}
    for index, day in enumerate(days):
        if day.weekday in by_weekday:
            errors[index] = {"weekday": [f"{WEEKDAY_NAMES[day.weekday]} is given twice."]}
        by_weekday.setdefault(day.weekday, day)
    for index, day in enumerate(days):
        previous = by_weekday.get((day.weekday - 1) % 7)
        if index in errors or previous is None:
            continue
        previous_ends = _minute_of_day(previous.start) + previous.span_minutes
        if previous_ends > MINUTES_PER_DAY + _minute_of_day(day.start):
            errors[index] = {"start": [f"Starts before the previous shift ({_label(previous)}) ends."]}
    return errors


class _HourMinute(fields.Field):
    """A local time of day written "HH:MM", 00:00 to 23:59."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> time:
        if not isinstance(value, str) or not _HH_MM.fullmatch(value):
            raise ValidationError(f"Use HH:MM between 00:00 and 23:59, got {value!r}.")
        return time.fromisoformat(value)

    def _serialize(self, value: time, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return f"{value:%H:%M}"


class _DayPatternSchema(Schema):
    weekday = fields.Integer(required=True, strict=True, validate=validate.Range(0, 6))
    start = _HourMinute(required=True)
    end = _HourMinute(required=True)
    break_minutes = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))

    @validates_schema
    def _break_shorter_than_shift(self, data: dict[str, Any], **kwargs: Any) -> None:
        span = DayPattern(data["weekday"], data["start"], data["end"]).span_minutes
        if data["break_minutes"] >= span:
            raise ValidationError(f"The break must be shorter than the shift ({span} minutes).", "break_minutes")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> DayPattern:
        return DayPattern(**data)


class _DaysSchema(Schema):
    days = fields.List(fields.Nested(_DayPatternSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _days_fit_together(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = _day_list_errors(data["days"])
        if errors:
            raise ValidationError({"days": errors})


class _VariantSchema(_DaysSchema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end_date"] < data["start_date"]:
            raise ValidationError("The end date must not be before the start date.", "end_date")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Variant:
        return Variant(data["name"], data["start_date"], data["end_date"], tuple(data["days"]))


class _ScheduleSchema(_DaysSchema):
    schedule_id = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1))
    variants = fields.List(fields.Nested(_VariantSchema), load_default=list)

    @validates_schema
    def _variants_apart(self, data: dict[str, Any], **kwargs: Any) -> None:
        variants = data["variants"]
        errors: dict[int, dict[str, list[str]]] = {}
        for later, variant in enumerate(variants):
            for earlier in variants[:later]:
                if variant.start_date <= earlier.end_date and earlier.start_date <= variant.end_date:
                    errors[later] = {
                        "start_date": [
                            f"Overlaps variant {earlier.name!r} "
                            f"({earlier.start_date.isoformat()} to {earlier.end_date.isoformat()})."
                        ]
                    }
                    break
        if errors:
            raise ValidationError({"variants": errors})

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Schedule:
        return Schedule(data["schedule_id"], data["name"], tuple(data["days"]), tuple(data["variants"]))


class _HolidaySchema(Schema):
    date = fields.Date(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Holiday:
        return Holiday(**data)
