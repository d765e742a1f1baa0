"""How the pages show dates, months, times and rupiah, in the person's language (Indonesian by default)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from flask_babel import format_date, format_decimal, get_locale


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def long_date(value) -> str:
    """`30 November 2026` (Indonesian) or `30 November 2026` (English): day, month name, year."""
    day = _as_date(value)
    return format_date(day, "d MMMM y") if day else ""


def day_name(value) -> str:
    """`Senin, 5 Oktober 2026`: the weekday with the long date."""
    day = _as_date(value)
    return format_date(day, "EEEE, d MMMM y") if day else ""


def month_name(month: int) -> str:
    """The month's name in the person's language (`Oktober`)."""
    return get_month_names("wide", locale=get_locale())[int(month)]


def month_label(year: int, month: int) -> str:
    """`Oktober 2026`."""
    return f"{month_name(month)} {year}"


def rupiah(amount) -> str:
    """Whole rupiah with the locale's grouping: `Rp 1.234.567` (a minus sign before `Rp` when negative)."""
    if amount is None:
        return ""
    amount = int(amount)
    text = f"Rp {format_decimal(abs(amount), format='#,##0')}"
    return f"−{text}" if amount < 0 else text


def local_time(value, zone: str | None = None) -> str:
    """A stored UTC instant as the local `HH:MM` in `zone` (Asia/Jakarta when not given)."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(_zone(zone)))
    return moment.strftime("%H:%M")


_ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}


def _zone(zone: str | None) -> str:
    return _ZONES.get(zone or "", zone or "Asia/Jakarta")


def minutes(value) -> str:
    """Minutes as hours and minutes: `7:00`."""
    if value is None:
        return ""
    value = int(value)
    return f"{value // 60}:{value % 60:02d}"


FILTERS = {"long_date": long_date, "day_name": day_name, "month_name": month_name, "rupiah": rupiah,
           "local_time": local_time, "hm": minutes}
