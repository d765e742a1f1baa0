"""What other services' events keep here: employees, schedules, holidays, enrolments, geofences, closed months."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from attendance import store, tables
from attendance.config import AttendanceConfig
from attendance.domain import adms
from attendance.handlers.days import rebuild_days
from attendance.handlers.devices import queue_command
from attendance.handlers.punches import build_days_of
from runtime.db import insert_for, upsert_row

def project_employee(session: Session, data: dict) -> None:
    """Keep the employee's zone, schedule, unit and supervisors."""
    upsert_row(session, tables.employees, {"employee_id": data["employee_id"]}, {
        "unit_id": data["unit_id"], "zone": data["zone"], "schedule_id": data.get("schedule_id"),
        "supervisor_id": data.get("supervisor_id"), "acting_supervisor_id": data.get("acting_supervisor_id"),
        "active": data.get("active", True), "work_anywhere": data.get("work_anywhere", False)})


def project_geofence(session: Session, data: dict) -> None:
    """Keep a unit's geofence (where its staff may check in from a phone)."""
    upsert_row(session, tables.geofences, {"fence_id": data["fence_id"]}, {
        "unit_id": data["unit_id"], "kind": data["kind"], "latitude": data.get("latitude"),
        "longitude": data.get("longitude"), "radius_m": data.get("radius_m"), "vertices": data.get("vertices"),
        "active": data.get("active", True)})


def project_schedule(session: Session, data: dict) -> None:
    """Keep a schedule's definition."""
    definition = json.loads(json.dumps({k: data[k] for k in ("schedule_id", "name", "days", "variants")},
                                       default=str))
    upsert_row(session, tables.schedules, {"schedule_id": data["schedule_id"]},
             {"definition": definition, "active": data.get("active", True)})


def project_holiday(session: Session, data: dict, config: AttendanceConfig) -> None:
    """Keep a holiday of the calendar, and rebuild the days already built on that date (a *cuti bersama*
    declared late turns yesterday's absences into a holiday, published as new versions)."""
    upsert_row(session, tables.holidays, {"date": data["date"]}, {"name": data["name"], "active": data.get("active", True)})
    d = tables.days.c
    for row in session.execute(select(d.employee_id).where(d.local_date == data["date"])).all():
        rebuild_days(session, row.employee_id, [data["date"]], config)


def project_enrolment(session: Session, data: dict, now: datetime, config: AttendanceConfig) -> int:
    """Keep an enrolment, queue the matching device command, and match the punches that waited for it.

    Returns how many waiting punches were matched (their days are then rebuilt).
    """
    e = tables.enrolments.c
    serial, pin = data["device_serial"], data["pin"]
    current = session.execute(select(tables.enrolments).where(e.device_serial == serial, e.pin == pin)).first()
    values = {"employee_id": data["employee_id"], "name": data.get("name") or "", "active": data.get("active", True)}
    if current is not None and {k: getattr(current, k) for k in values} == values:
        return 0
    upsert_row(session, tables.enrolments, {"device_serial": serial, "pin": pin}, values)
    if values["active"]:
        queue_command(session, serial, adms.enrolment_command(pin, values["name"]), now)
    elif current is not None and current.active:
        queue_command(session, serial, adms.user_delete_command(pin), now)
    if not values["active"]:
        return 0
    store.lock_matching(session, [serial], exclusive=True)  # waits for batches of this device being stored
    p = tables.punches.c
    matched = session.execute(update(tables.punches).where(
        p.device_serial == serial, p.pin == pin, p.employee_id.is_(None)).values(employee_id=values["employee_id"])
        .returning(*(tables.punches.c[n] for n in store.PUNCH_COLUMNS))).all()
    build_days_of(session, matched, config)
    return len(matched)


def close_month(session: Session, data: dict) -> None:
    """Remember that a unit's month is closed for payroll: later changes to its days are corrections."""
    session.execute(insert_for(session, tables.closed_months).on_conflict_do_nothing().values(
        unit_id=data["unit_id"], year=data["year"], month=data["month"], closed_at=data["closed_at"]))
