"""Attendance's gauges, queried when Prometheus scrapes (`runtime.monitoring`): each device's last contact
and last punch labelled by the unit most of its enrolled employees belong to, the devices silent during
their working hours, the uploads waiting for the ingest job, and how far the nightly build of everyone's day is
behind. (Punches per day: the jobs' counter `kinerja_attendance_punches_stored_total`, which needs no scan of the
punches.)"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attendance import tables
from attendance.config import AttendanceConfig
from attendance.handlers import days
from attendance.handlers.devices import is_silent
from runtime.monitoring import Gauge


def device_units(session: Session) -> dict[str, str]:
    """Each device's unit: the one most of the active employees enrolled on it belong to ("" when none)."""
    e, emp = tables.enrolments.c, tables.employees.c
    counts: dict[str, Counter] = {}
    rows = session.execute(select(e.device_serial, emp.unit_id, func.count()).join(
        tables.employees, emp.employee_id == e.employee_id).where(e.active.is_(True))
        .group_by(e.device_serial, emp.unit_id))
    for serial, unit, n in rows:
        counts.setdefault(serial, Counter())[unit] = n
    return {serial: units.most_common(1)[0][0] for serial, units in counts.items()}


def _devices(config: AttendanceConfig):
    def last_contact(session: Session, now: datetime):
        units = device_units(session)
        for row in session.execute(select(tables.devices).where(tables.devices.c.state != "disabled")):
            if row.last_seen_at is not None:
                yield (row.device_serial, units.get(row.device_serial, ""), row.state), row.last_seen_at.timestamp()

    def last_punch(session: Session, now: datetime):
        units = device_units(session)
        p = tables.punches.c
        serials = session.execute(select(tables.devices.c.device_serial).where(tables.devices.c.state == "approved"))
        for serial in serials.scalars().all():
            # its highest sequence: one step down the (device_serial, sequence) index, however many punches
            at = session.execute(select(p.at).where(p.device_serial == serial, p.sequence.is_not(None))
                                 .order_by(p.sequence.desc()).limit(1)).scalar()
            if at is not None:
                yield (serial, units.get(serial, "")), at.timestamp()

    def silent(session: Session, now: datetime):
        units = device_units(session)
        for row in session.execute(select(tables.devices).where(tables.devices.c.state == "approved")):
            yield (row.device_serial, units.get(row.device_serial, "")), int(is_silent(session, row, now, config))

    return [
        Gauge("kinerja_attendance_device_last_contact_timestamp_seconds", "When a device last called (Unix time)",
              ("device", "unit", "state"), last_contact),
        Gauge("kinerja_attendance_device_last_punch_timestamp_seconds", "The time of a device's latest punch",
              ("device", "unit"), last_punch),
        Gauge("kinerja_attendance_device_silent", "1 when an approved device has not called for "
              "ATTENDANCE_SILENT_MINUTES during its working hours", ("device", "unit"), silent),
    ]


def _ingest(session: Session, now: datetime):
    r = tables.raw_uploads.c
    count, oldest = session.execute(select(func.count(), func.min(r.received_at)).where(r.processed_at.is_(None))).one()
    return count, (now - oldest).total_seconds() if oldest is not None else 0.0


def _build_overdue(config: AttendanceConfig):
    """Seconds since the oldest finished local date the nightly build has yet to close became finished
    (`days.dates_to_close`, `days.date_finished_at`); 0 when every finished date is closed. One figure that reads as
    "how late", whatever the cause: it grows by the clock while the build is stuck and drops to 0 once it catches up.
    A fresh install (nothing closed) owes the latest finished date, so a job that never ran shows too; past the
    31-date catch-up the oldest date the build still owes moves on each day, so the figure stays within 30-31 days."""
    def overdue(session: Session, now: datetime):
        dates = days.dates_to_close(session, config, now)
        yield (), (now - days.date_finished_at(dates[0], config)).total_seconds() if dates else 0.0

    return overdue


def gauges(config: AttendanceConfig) -> list[Gauge]:
    """The attendance service's gauges."""
    return _devices(config) + [
        Gauge("kinerja_attendance_ingest_waiting", "Device uploads stored and not yet turned into punches", (),
              lambda session, now: [((), _ingest(session, now)[0])]),
        Gauge("kinerja_attendance_ingest_oldest_age_seconds", "Age of the oldest upload waiting for the ingest job",
              (), lambda session, now: [((), _ingest(session, now)[1])]),
        Gauge("kinerja_attendance_date_build_overdue_seconds", "How long the oldest finished local date not yet "
              "built for every active employee has been finished (0: the nightly build is up to date)", (),
              _build_overdue(config)),
    ]
