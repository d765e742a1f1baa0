"""Absences and attendance days: a day is built from an employee's punches, schedule, holidays and absences.

Building days is not on the upload path: the service's own consumer consumes `attendance.punch.recorded`
(keyed by employee, so per-employee order holds) and rebuilds the days around each punch
(`on_punch_recorded`). Absences and `build_days_for_date` build days directly.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from attendance import tables
from attendance.config import AttendanceConfig
from attendance.domain.days import Absence, AttendanceDay, Punch, assign_punches, build_day
from attendance.domain.schedule import default_schedule, planned_shift, schedule_from_dict
from attendance.handlers.shared import PRODUCER, aware, employee_row, iso
from contracts.attendance import DayBuiltSchema
from runtime.events import make_event
from runtime.messaging import publish
from runtime.errors import Invalid


def record_absence(session: Session, data: dict, recorded_by: str, now: datetime, config: AttendanceConfig) -> dict:
    """Record leave, sick leave, official duty (dinas luar: needs the letter reference) or permission.

    Days already built in the range are rebuilt (a new version when the absence changes them).
    """
    if data["end_date"] < data["start_date"]:
        raise Invalid("the absence ends before it starts", field="end_date", message="must not be before start_date")
    if data["kind"] == "duty" and not (data.get("reference") or "").strip():
        raise Invalid("official duty needs its assignment letter", field="reference",
                      message="the assignment letter (surat tugas) number is required")
    absence_id = session.execute(insert(tables.absences).values(
        employee_id=data["employee_id"], kind=data["kind"], start_date=data["start_date"], end_date=data["end_date"],
        reference=data.get("reference"), recorded_by=recorded_by, recorded_at=now)
        .returning(tables.absences.c.id)).scalar_one()
    d = tables.days.c
    built = {r.local_date for r in session.execute(select(d.local_date).where(
        d.employee_id == data["employee_id"], d.local_date >= data["start_date"], d.local_date <= data["end_date"]))}
    if built:
        rebuild_days(session, data["employee_id"], built, config)
    return _absence_view(session.execute(select(tables.absences).where(tables.absences.c.id == absence_id)).one())


def _absence_view(row) -> dict:
    return {"absence_id": row.id, "employee_id": row.employee_id, "kind": row.kind,
            "start_date": row.start_date.isoformat(), "end_date": row.end_date.isoformat(),
            "reference": row.reference, "recorded_by": row.recorded_by, "recorded_at": iso(row.recorded_at)}


def list_absences(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's absences overlapping start..end."""
    a = tables.absences.c
    rows = session.execute(select(tables.absences).where(
        a.employee_id == employee_id, a.start_date <= end, a.end_date >= start).order_by(a.start_date, a.id))
    return [_absence_view(r) for r in rows]


# --- days ------------------------------------------------------------------------------------------------

def holiday_dates(session: Session, start: date, end: date) -> set[date]:
    h = tables.holidays.c
    return {r.date for r in session.execute(select(h.date).where(h.active.is_(True), h.date >= start, h.date <= end))}


def _schedule_of(session: Session, schedule_id: str | None):
    if schedule_id:
        s = tables.schedules.c
        row = session.execute(select(s.definition).where(s.schedule_id == schedule_id, s.active.is_(True))).first()
        if row:
            return schedule_from_dict(row.definition)
    return default_schedule()


def _day_content(day: AttendanceDay) -> dict:
    data = DayBuiltSchema().dump(dataclasses.asdict(day))
    data.pop("version", None)
    data.pop("correction", None)
    return json.loads(json.dumps(data))


def _local_midnight_utc(local_date: date, zone: str) -> datetime:
    return datetime.combine(local_date, time(0), ZoneInfo(zone)).astimezone(UTC)


def rebuild_days(session: Session, employee_id: str, dates: Iterable[date], config: AttendanceConfig,
                 force: bool = False) -> list[dict]:
    """Build the given local dates of one employee; publish `attendance.day.built` for each day that changed.

    A date is built when punches belong to it, when it was built before, or when `force` is set (the
    daily build that gives everyone a day). Unchanged content keeps its version and publishes nothing;
    a changed day in a month closed for payroll is published as a correction.
    """
    dates = sorted(set(dates))
    if not dates:
        return []
    employee = employee_row(session, employee_id)
    zone = employee.zone if employee else config.default_zone
    schedule = _schedule_of(session, employee.schedule_id if employee else None)
    first, last = dates[0] - timedelta(days=2), dates[-1] + timedelta(days=2)
    holidays = holiday_dates(session, first, last)
    shifts = {first + timedelta(days=n): planned_shift(schedule, first + timedelta(days=n), holidays, zone)
              for n in range((last - first).days + 1)}
    p = tables.punches.c
    punch_rows = session.execute(select(p.id, p.at).where(
        p.employee_id == employee_id, p.at >= _local_midnight_utc(first + timedelta(days=1), zone),
        p.at < _local_midnight_utc(last, zone))).all()
    grouped = assign_punches([Punch(str(r.id), aware(r.at)) for r in punch_rows], shifts, zone, config.policy)
    a = tables.absences.c
    absences = [Absence(r.kind, r.start_date, r.end_date, r.reference) for r in session.execute(
        select(tables.absences).where(a.employee_id == employee_id, a.start_date <= last, a.end_date >= first))]
    d = tables.days.c
    existing = {r.local_date: r for r in session.execute(
        select(tables.days).where(d.employee_id == employee_id, d.local_date.in_(dates)))}
    published = []
    for local_date in dates:
        day_punches = grouped.get(local_date, ())
        current = existing.get(local_date)
        if not day_punches and current is None and not force:
            continue
        day = build_day(employee_id, local_date, zone, shifts[local_date], day_punches, absences,
                        local_date in holidays, config.policy, version=1)
        content = _day_content(day)
        if current is not None and current.content == content:
            continue
        version = current.version + 1 if current else 1
        correction = employee is not None and _month_closed(session, employee.unit_id, local_date)
        values = {"version": version, "status": content["status"], "content": content, "correction": correction,
                  "built_at": datetime.now(UTC)}
        if current is None:
            session.execute(insert(tables.days).values(employee_id=employee_id, local_date=local_date, **values))
        else:
            session.execute(update(tables.days).where(d.employee_id == employee_id, d.local_date == local_date)
                            .values(**values))
        data = dict(content, version=version, correction=correction)
        publish(session, make_event("attendance.day.built", employee_id, data, PRODUCER))
        published.append(data)
    return published


def _month_closed(session: Session, unit_id: str, local_date: date) -> bool:
    m = tables.closed_months.c
    return session.execute(select(m.unit_id).where(m.unit_id == unit_id, m.year == local_date.year,
                                                   m.month == local_date.month)).first() is not None


def build_days_for_date(session: Session, local_date: date, config: AttendanceConfig,
                        employee_ids: Iterable[str] | None = None) -> dict:
    """Build `local_date` for every active employee (or those given), so people with no punch get a day too."""
    e = tables.employees.c
    query = select(e.employee_id).where(e.active.is_(True)).order_by(e.employee_id)
    if employee_ids is not None:
        query = query.where(e.employee_id.in_(list(employee_ids)))
    built = changed = 0
    for row in session.execute(query).all():
        changed += len(rebuild_days(session, row.employee_id, [local_date], config, force=True))
        built += 1
    return {"local_date": local_date.isoformat(), "employees": built, "days_changed": changed}


# The westernmost zone (WIB) is the last to finish a local date.
_LAST_ZONE = ZoneInfo("Asia/Jakarta")
_MAX_CATCH_UP_DAYS = 31


def close_finished_dates(session: Session, config: AttendanceConfig, now: datetime) -> list[date]:
    """Build every finished local date for all active employees, once, so nobody's day is missing.

    Without this an employee who never punched would have no day at all, so no absence without notice
    (TK) and too few effective minutes. A date is finished `close_day_after_hours` after it ends in WIB,
    leaving night shifts time to clock out. After a pause, missed dates are caught up (at most 31);
    on a first run only the latest finished date is built, not the whole past.
    """
    latest = (now.astimezone(_LAST_ZONE) - timedelta(hours=config.close_day_after_hours)).date() - timedelta(days=1)
    c = tables.closed_dates.c
    last_closed = session.execute(select(func.max(c.local_date))).scalar()
    first = latest if last_closed is None else max(last_closed + timedelta(days=1),
                                                   latest - timedelta(days=_MAX_CATCH_UP_DAYS - 1))
    closed = []
    day = first
    while day <= latest:
        report = build_days_for_date(session, day, config)
        session.execute(insert(tables.closed_dates).values(local_date=day, closed_at=now, employees=report["employees"]))
        closed.append(day)
        day += timedelta(days=1)
    return closed


def list_days(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's built days within start..end, each with its version and correction flag."""
    d = tables.days.c
    rows = session.execute(select(tables.days).where(d.employee_id == employee_id, d.local_date >= start,
                                                     d.local_date <= end).order_by(d.local_date))
    return [dict(r.content, version=r.version, correction=r.correction) for r in rows]


def on_punch_recorded(session: Session, data: dict, config: AttendanceConfig) -> list[dict]:
    """Rebuild the days a recorded punch may belong to (its local date and the dates either side)."""
    employee = employee_row(session, data["employee_id"])
    zone = employee.zone if employee else data["zone"]
    local_date = data["at"].astimezone(ZoneInfo(zone)).date()
    dates = [local_date + timedelta(days=n) for n in (-1, 0, 1)]
    return rebuild_days(session, data["employee_id"], dates, config)
