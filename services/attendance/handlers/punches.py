"""Punches: stored once whatever their source (device uploads, the JSON API, check-ins), and the days they
belong to rebuilt in the same transaction once they are matched to an employee: at once when their (device, PIN)
is enrolled, else when the enrolment arrives (`projections.project_enrolment`).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import and_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from attendance import store, tables
from attendance.config import AttendanceConfig
from attendance.domain.days import local_time_to_utc
from attendance.handlers import days
from attendance.handlers.shared import aware, employee_row, iso
from contracts.attendance import PunchRecordedSchema

log = logging.getLogger(__name__)
DAY_BUILDS_FAILED = Counter(
    "kinerja_attendance_day_builds_failed_total",
    "Employees whose stored punches' days could not be built with them (left to the next build)")


def store_punches(session: Session, rows: list[dict], config: AttendanceConfig) -> list:
    """Insert punches ignoring those already stored; build the days of the new matched ones; return the new rows."""
    new = store.insert_punches(session, rows)
    build_days_of(session, new, config)
    return new


def store_device_punches(session: Session, rows: list[dict], now: datetime,
                         config: AttendanceConfig) -> tuple[int, int]:
    """Insert punches read from device uploads (`store.DEVICE_PUNCH_FIELDS`), matched to their enrolments as
    they are stored, ignoring those already stored; build the days of the new matched ones; return how many punches
    were new and how many of them were matched."""
    new = store.insert_device_punches(session, rows, now)
    return len(new), build_days_of(session, new, config)


def build_days_of(session: Session, rows, config: AttendanceConfig) -> int:
    """Rebuild, in the caller's transaction, the days the matched punches of `rows` (those with an employee) belong
    to (`days.on_punches_recorded`); return how many were matched. `rows` begin with `store.PUNCH_COLUMNS` in their
    order, read by position.

    The days are built where the punches are stored, not from events of them: the punch and its day commit
    together, and no event goes out only to come back to this same service. The build runs under a savepoint: when
    it fails for a reason of the data (a schedule the rules cannot read), each employee's punches are built again
    on their own, and an employee whose build still fails is logged and counted, their punches kept all the same
    (their days are built by their next punch or the nightly build of the date, once the data is mended). A
    failure of the database itself (a deadlock, a lost connection) fails the caller's transaction, to be retried
    whole."""
    matched = [(row[3], str(row[0]), aware(row[5]), row[7]) for row in rows if row[3]]  # by position, see above
    if matched and not _built(session, matched, config, alone=False):
        by_employee = defaultdict(list)
        for punch in matched:
            by_employee[punch[0]].append(punch)
        for employee_id in sorted(by_employee):
            _built(session, by_employee[employee_id], config, alone=True)
    return len(matched)


def _built(session: Session, punches: list[tuple], config: AttendanceConfig, alone: bool) -> bool:
    """Whether the days of `punches` were built (under a savepoint); `alone`: they are one employee's, whose failure
    is logged and counted."""
    try:
        with session.begin_nested():
            days.on_punches_recorded(session, punches, config)
        return True
    except OperationalError:
        raise
    except Exception:  # noqa: BLE001 - the punches are kept whatever their days' build does
        if alone:
            DAY_BUILDS_FAILED.inc()
            log.exception("the days of an employee's stored punches could not be built",
                          extra={"employee_id": punches[0][0], "punches": len(punches)})
        return False


def punch_data(row) -> dict:
    """A stored punch as the API lists it (the `attendance.punch.recorded` schema's fields). `row` begins with
    `store.PUNCH_COLUMNS` in their order (as every statement returning punches selects them), read by position."""
    punch_id, device_serial, pin, employee_id, source, at, local_time, zone, local_date, device_status, verify = \
        row[:len(store.PUNCH_COLUMNS)]
    return {
        "punch_id": str(punch_id), "employee_id": employee_id, "device_serial": device_serial, "pin": pin,
        "source": source, "at": aware(at), "local_time": local_time, "zone": zone, "local_date": local_date,
        "device_status": device_status, "verify": verify,
    }


# --- JSON punches -----------------------------------------------------------------------------------------

def record_api_punches(session: Session, items: list[dict], now: datetime, config: AttendanceConfig) -> dict:
    """Store punches from clock sources that are not ADMS machines: good items kept, bad ones reported.

    Each valid item has either `employee_id` or (`device_serial`, `pin`), and `local_time` or `at`.
    Returns `{"accepted": [{index, punch_id, duplicate}], "rejected": [{index, errors}]}`.
    """
    accepted, rejected, rows, keys = [], [], [], []
    store.lock_matching(session, {item["device_serial"] for item in items if item.get("device_serial")})
    for index, item in enumerate(items):
        try:
            row = _api_row(session, item, now)
        except _ItemRefused as refusal:
            rejected.append({"index": index, "errors": refusal.errors})
            continue
        rows.append(row)
        keys.append((index, _punch_key(row)))
    new = {_punch_key(r._asdict()): r for r in store_punches(session, _distinct(rows), config)}
    for index, key in keys:
        row = new.pop(key, None)
        accepted.append({"index": index, "punch_id": str(row.id) if row else None, "duplicate": row is None,
                         "employee_id": row.employee_id if row else None})
    return {"accepted": accepted, "rejected": rejected}


class _ItemRefused(Exception):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.errors = [{"field": field, "message": message}]


def _punch_key(row: dict) -> tuple:
    if row["device_serial"] is None:
        return ("employee", row["employee_id"], aware(row["at"]))
    return ("device", row["device_serial"], row["pin"], row["local_time"])


def _distinct(rows: list[dict]) -> list[dict]:
    """The first of each repeated punch (the later repeats are reported as duplicates)."""
    first: dict[tuple, dict] = {}
    for row in rows:
        first.setdefault(_punch_key(row), row)
    return list(first.values())


def _enrolled(session: Session, serial: str, pins: Iterable[str]) -> dict[str, str]:
    enrolled = store.enrolled_pairs(session, {(serial, p) for p in pins})
    return {pin: employee_id for (_, pin), employee_id in enrolled.items()}


def _api_row(session: Session, item: dict, now: datetime) -> dict:
    by_employee = item.get("employee_id") is not None
    by_device = item.get("device_serial") is not None or item.get("pin") is not None
    if by_employee == by_device:
        raise _ItemRefused("employee_id", "give employee_id, or device_serial and pin (not both)")
    if (item.get("local_time") is None) == (item.get("at") is None):
        raise _ItemRefused("local_time", "give local_time (the clock's wall time) or at (an instant with offset)")
    if by_employee:
        person = employee_row(session, item["employee_id"])
        if person is None:
            raise _ItemRefused("employee_id", f"unknown employee {item['employee_id']}")
        serial, pin, employee_id, zone = None, None, person.employee_id, person.zone
    else:
        if not item.get("device_serial") or not item.get("pin"):
            raise _ItemRefused("pin" if item.get("device_serial") else "device_serial", "both are needed")
        device = store.device(session, item["device_serial"])
        if device is None or device.state != "approved":
            raise _ItemRefused("device_serial", f"device {item['device_serial']} is not an approved device")
        serial, pin, zone = device.device_serial, item["pin"], device.zone
        employee_id = _enrolled(session, serial, [pin]).get(pin)
    if item.get("at") is not None:
        at = item["at"].astimezone(UTC)
        local_time = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    else:
        local_time = item["local_time"]
        at = local_time_to_utc(local_time, zone)
    if at > now + timedelta(minutes=5):
        raise _ItemRefused("at" if item.get("at") else "local_time", "a punch cannot be in the future")
    return {"device_serial": serial, "pin": pin, "sequence": None, "employee_id": employee_id, "source": "api",
            "origin": item.get("source"), "at": at, "local_time": local_time.replace(microsecond=0), "zone": zone,
            "local_date": local_time.date(), "device_status": None, "verify": None, "upload_id": None,
            "recorded_at": now}


def _photo_join():
    p, f = tables.punches.c, tables.punch_photos.c
    return tables.punches.outerjoin(tables.punch_photos, and_(
        f.device_serial == p.device_serial, f.pin == p.pin, f.local_time == p.local_time))


def list_punches(session: Session, employee_id: str, start: date, end: date) -> list[dict]:
    """An employee's punches whose local date is within start..end (`punch_data`), with their origin and,
    when the device took one, the path of the photo taken at the punch (its evidence)."""
    p, f = tables.punches.c, tables.punch_photos.c
    rows = session.execute(select(*(tables.punches.c[n] for n in store.PUNCH_COLUMNS), p.origin, p.voided_at,
                                  f.id.label("photo_id"))
                           .select_from(_photo_join())
                           .where(p.employee_id == employee_id, p.local_date >= start, p.local_date <= end)
                           .order_by(p.at)).all()
    schema = PunchRecordedSchema()
    return [dict(schema.dump(punch_data(r)), origin=r.origin, voided_at=iso(r.voided_at),
                 photo=(f"/punches/{r.id}/photo" if r.photo_id is not None
                        else f"/checkins/{r.id}/photo" if r.source == "mobile" else None)) for r in rows]


def punch_photo(session: Session, punch_id: int):
    """(the punch's employee id, the photo's bytes) of a punch that has a photo, else None."""
    p, f = tables.punches.c, tables.punch_photos.c
    return session.execute(select(p.employee_id, f.photo).select_from(_photo_join())
                           .where(p.id == punch_id, f.id.is_not(None))).first()
