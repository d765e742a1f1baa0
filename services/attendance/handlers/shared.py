"""Small helpers the attendance use cases share."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import tables
from attendance.config import AttendanceConfig

PRODUCER = "attendance"


def aware(value: datetime | None) -> datetime | None:
    """A stored instant as an aware datetime in `UTC` (SQLite gives naive UTC; psycopg gives the session's zone,
    e.g. `ZoneInfo("Etc/UTC")`: converted, so instants compare and subtract on the fast path of one tzinfo, about
    ten times quicker than across two). One in `UTC` already (what psycopg gives in the sessions' zone, and every punch
    the ingest job stores) is returned as it is, not copied (half the time, twice a punch)."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value else None


def zone_of(device_row, config: AttendanceConfig) -> str:
    """The zone a device's clock runs in (the service's default until an admin sets it)."""
    return device_row.zone or config.default_zone


def employee_row(session: Session, employee_id: str):
    return session.execute(select(tables.employees).where(tables.employees.c.employee_id == employee_id)).first()


def today_of(session: Session, employee_id: str, now: datetime, config: AttendanceConfig) -> date:
    """Today where the employee works: the local date in their zone (attendance's projection of them; the service's
    default zone for one it does not know). The server's own date is UTC's: from midnight to 07:00 in Jakarta
    (09:00 in Jayapura) it is still yesterday there, and a clock-in of this morning would fall outside "the last 30
    days" that a list without dates asks for."""
    zone = session.execute(select(tables.employees.c.zone).where(tables.employees.c.employee_id == employee_id)).scalar()
    return now.astimezone(ZoneInfo(zone or config.default_zone)).date()
