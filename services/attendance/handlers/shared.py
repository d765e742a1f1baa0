"""Small helpers the attendance use cases share."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance import tables
from attendance.config import AttendanceConfig

PRODUCER = "attendance"


def aware(value: datetime | None) -> datetime | None:
    """A stored instant as an aware datetime in `UTC` (SQLite gives naive UTC; psycopg gives the session's zone,
    e.g. `ZoneInfo("Etc/UTC")`: converted, so instants compare and subtract on the fast path of one tzinfo, about
    ten times quicker than across two)."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value else None


def zone_of(device_row, config: AttendanceConfig) -> str:
    """The zone a device's clock runs in (the service's default until an admin sets it)."""
    return device_row.zone or config.default_zone


def employee_row(session: Session, employee_id: str):
    return session.execute(select(tables.employees).where(tables.employees.c.employee_id == employee_id)).first()
