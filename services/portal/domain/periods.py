"""Months as people pick them: `YYYY-MM` periods, their first and last days."""
from __future__ import annotations

import calendar
import re
from datetime import date


def previous_month(today: date) -> tuple[int, int]:
    """The month before `today`'s."""
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def parse_period(value: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """`YYYY-MM` as (year, month); `default` when absent or malformed."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return default
    return int(match.group(1)), int(match.group(2))


def period(year: int, month: int) -> str:
    """(year, month) as `YYYY-MM`."""
    return f"{year:04d}-{month:02d}"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """The first and last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
