"""Builders of attendance days and activity entries for the scoring unit tests (Asia/Jakarta, WIB +07)."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scoring.domain.crosschecks import Day, Entry

NIP = "198001012005011001"
MONDAY = date(2024, 3, 4)
WIB = ZoneInfo("Asia/Jakarta")


def at(hhmm: str, on: date = MONDAY, next_day: bool = False) -> datetime:
    """A Jakarta wall-clock time on a date, as a UTC instant."""
    local = datetime.combine(on + timedelta(days=int(next_day)), time.fromisoformat(hhmm), WIB)
    return local.astimezone(ZoneInfo("UTC"))


def day(on: date = MONDAY, **changes) -> Day:
    """A normal present day: scheduled 07:30–16:00 (450 net min), clocked 07:25–16:05."""
    base = Day(
        employee_id=NIP,
        local_date=on,
        zone="Asia/Jakarta",
        version=1,
        status="present",
        scheduled_start=at("07:30", on),
        scheduled_end=at("16:00", on),
        scheduled_minutes=450,
        clock_in=at("07:25", on),
        clock_out=at("16:05", on),
        presence_minutes=520,
        late_minutes=0,
        early_leave_minutes=0,
        overtime_minutes=0,
        late_band=None,
        early_band=None,
        missing_clock_in=False,
        missing_clock_out=False,
        punch_ids=("p-in", "p-out"),
        absence_kind=None,
        absence_reference=None,
    )
    return replace(base, **changes)


def entry(
    entry_id: str, start: str, end: str, on: date = MONDAY, start_next_day=False, end_next_day=False, **changes
) -> Entry:
    """An approved, creditable entry between two Jakarta wall-clock times; credited minutes equal its duration."""
    start_at, end_at = at(start, on, start_next_day), at(end, on, end_next_day)
    minutes = int((end_at - start_at).total_seconds() // 60)
    base = Entry(
        entry_id=entry_id,
        employee_id=NIP,
        local_date=on,
        start_at=start_at,
        end_at=end_at,
        catalogue_item_id="cat-1",
        quantity=1,
        duration_minutes=minutes,
        credited_minutes=minutes,
        state="approved",
        verified=None,
        creditable=True,
    )
    return replace(base, **changes)
