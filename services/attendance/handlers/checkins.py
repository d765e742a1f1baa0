"""Check-ins from a phone: presence where no fingerprint machine reaches, kept with what makes it doubtful.

A check-in is a punch of source `mobile` at the server's time (never the phone's), stored and published
like a device's punch (`attendance.punch.recorded`), so the day is built from it the same way. Beside it a
`checkins` record keeps where it was against the unit's geofences, each reason for doubt with its evidence
(attendance.domain.presence), the photo taken at that moment, and the supervisor's review: a check-in with a
doubt waits for the employee's supervisor (`pending`); nothing is dropped. A rejected check-in's punch is
voided (kept, marked, no longer counted) and its days rebuilt. The raw coordinates are kept only for the
policy's `keep_coordinates_days`, then cleared by the attendance job and never shown after (the verdict,
distance and doubts stay); the employee sees
everything kept about them (`list_checkins`, the photo).
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from attendance import store, tables
from attendance.config import AttendanceConfig
from attendance.domain.presence import (CheckIn, Circle, Fence, Fix, Polygon, PriorPunch, doubts, fence_verdict)
from attendance.handlers.days import rebuild_days
from attendance.handlers.punches import build_days_of
from attendance.handlers.shared import aware, employee_row, iso
from runtime.access import person, require_read
from runtime.auth import Principal
from runtime.errors import Conflict, Forbidden, Invalid, NotFound

# the image formats a phone camera gives, by their first bytes
PHOTO_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
RECENT_LOCATED = 200  # the employee's latest located check-ins compared for travel and repeats
VERDICTS = ("confirm", "reject")


def _photo_type(photo: bytes) -> str | None:
    if photo[:4] == b"RIFF" and photo[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in PHOTO_TYPES if photo.startswith(magic)), None)


def _fences(session: Session, unit_id: str) -> list[Fence]:
    g = tables.geofences.c
    fences: list[Fence] = []
    for r in session.execute(select(tables.geofences).where(g.unit_id == unit_id, g.active.is_(True))
                             .order_by(g.fence_id)):
        if r.kind == "circle":
            fences.append(Circle(r.fence_id, r.latitude, r.longitude, r.radius_m))
        else:
            fences.append(Polygon(r.fence_id, tuple((lat, lon) for lat, lon in r.vertices)))
    return fences


def _exempt(session: Session, employee_id: str, local_date: date, kinds: tuple[str, ...]) -> bool:
    """Whether an absence of an exempt kind (official duty by default) covers the date."""
    if not kinds:
        return False
    a = tables.absences.c
    return session.execute(select(a.id).where(a.employee_id == employee_id, a.kind.in_(kinds),
                                              a.start_date <= local_date, a.end_date >= local_date)
                           .limit(1)).first() is not None


def forget_old_coordinates(session: Session, now: datetime) -> int:
    """Clear the raw coordinates whose keeping time is over (the verdict and distance stay); how many."""
    c = tables.checkins.c
    return session.execute(update(tables.checkins).where(c.coordinates_until <= now, c.latitude.is_not(None))
                           .values(latitude=None, longitude=None)).rowcount


def record_checkin(session: Session, employee_id: str, fix: Fix, device_time: datetime | None, photo: bytes,
                   now: datetime, config: AttendanceConfig) -> dict:
    """Record a check-in at the server's `now`: the punch (its day built like any punch's) and its evidence."""
    policy = config.policy.presence
    if not photo:
        raise Invalid("a check-in needs the photo taken at that moment", field="photo", message="required")
    if len(photo) > policy.max_photo_bytes:
        raise Invalid("the photo is too large", field="photo", message=f"at most {policy.max_photo_bytes} bytes")
    photo_type = _photo_type(photo)
    if photo_type is None:
        raise Invalid("the photo is not an image", field="photo", message="a JPEG, PNG or WebP image")
    employee = employee_row(session, employee_id)
    if employee is None or not employee.active:
        raise Forbidden("only an active employee in the directory checks in")
    at = now.replace(microsecond=0)
    local_time = at.astimezone(ZoneInfo(employee.zone)).replace(tzinfo=None)
    verdict = fence_verdict(fix, _fences(session, employee.unit_id))
    exempt = employee.work_anywhere or local_time.isoweekday() in policy.anywhere_weekdays or _exempt(
        session, employee_id, local_time.date(), policy.exempt_absence_kinds)
    c = tables.checkins.c
    located = session.execute(select(c.punch_id, c.at, c.latitude, c.longitude).where(
        c.employee_id == employee_id, c.latitude.is_not(None), c.coordinates_until > now, c.review != "rejected")
        .order_by(c.at.desc()).limit(RECENT_LOCATED)).all()
    earlier = [PriorPunch(str(r.punch_id), aware(r.at), r.latitude, r.longitude) for r in located]
    digest = hashlib.sha256(photo).hexdigest()
    seen = session.execute(select(c.punch_id).where(c.photo_sha256 == digest).order_by(c.punch_id).limit(1)).scalar()
    found = doubts(CheckIn(at, device_time, fix, digest), verdict, exempt, earlier,
                   None if seen is None else str(seen), policy)
    new = store.insert_punches(session, [{
        "device_serial": None, "pin": None, "sequence": None, "employee_id": employee_id, "source": "mobile",
        "origin": "portal", "at": at, "local_time": local_time, "zone": employee.zone,
        "local_date": local_time.date(), "device_status": None, "verify": None, "upload_id": None,
        "recorded_at": now}])
    if not new:
        raise Conflict("a check-in was recorded this very second: it is not taken twice")
    punch_id = new[0].id
    session.execute(tables.checkins.insert().values(
        punch_id=punch_id, employee_id=employee_id, at=at, local_date=local_time.date(), device_time=device_time,
        latitude=fix.latitude, longitude=fix.longitude, accuracy_m=fix.accuracy_m,
        coordinates_until=now + timedelta(days=policy.keep_coordinates_days), fence_id=verdict.fence_id,
        inside=verdict.inside, distance_m=verdict.distance_m, exempt=exempt, photo_sha256=digest, photo=photo,
        photo_type=photo_type, doubts=[{"kind": str(d.kind), "evidence": d.evidence} for d in found],
        review="pending" if found else "none"))
    build_days_of(session, new, config)  # after the check-in is kept: its day names it if it awaits review
    return _view(_checkin(session, punch_id))


def _checkin(session: Session, punch_id: int):
    row = session.execute(select(tables.checkins).where(tables.checkins.c.punch_id == punch_id)).first()
    if row is None:
        raise NotFound(f"no check-in {punch_id}")
    return row


def _view(row, now: datetime | None = None) -> dict:
    """A check-in as answered; coordinates past their keeping time are never shown, even in the minute before the
    job clears them (`forget_old_coordinates`)."""
    kept = row.latitude is not None and (now is None or aware(row.coordinates_until) > now)
    return {
        "punch_id": str(row.punch_id), "employee_id": row.employee_id, "at": iso(row.at),
        "local_date": row.local_date.isoformat(), "device_time": iso(row.device_time),
        "accuracy_m": row.accuracy_m, "latitude": row.latitude if kept else None,
        "longitude": row.longitude if kept else None,
        "coordinates_until": iso(row.coordinates_until),
        "fence": {"inside": row.inside, "fence_id": row.fence_id, "distance_m": row.distance_m, "exempt": row.exempt},
        "doubts": row.doubts, "photo_sha256": row.photo_sha256, "photo": f"/checkins/{row.punch_id}/photo",
        "review": {"state": row.review, "by": row.reviewed_by, "at": iso(row.reviewed_at), "reason": row.review_reason},
    }


def _punch_id(value: str) -> int:
    if not value.isdigit():
        raise NotFound(f"no check-in {value}")
    return int(value)


def list_checkins(session: Session, employee_id: str, start: date, end: date, now: datetime) -> list[dict]:
    """An employee's check-ins from `start` to `end` (local dates), with everything kept about each."""
    c = tables.checkins.c
    rows = session.execute(select(tables.checkins).where(c.employee_id == employee_id, c.local_date >= start,
                                                         c.local_date <= end).order_by(c.at))
    return [_view(r, now) for r in rows]


def pending_reviews(session: Session, approver_id: str) -> list[dict]:
    """The doubtful check-ins awaiting `approver_id` (supervisor, or acting supervisor where one is set)."""
    c, e = tables.checkins.c, tables.employees.c
    mine = select(e.employee_id).where(or_(e.acting_supervisor_id == approver_id,
                                           and_(e.acting_supervisor_id.is_(None), e.supervisor_id == approver_id)))
    rows = session.execute(select(tables.checkins).where(c.review == "pending", c.employee_id.in_(mine))
                           .order_by(c.at))
    return [_view(r) for r in rows]


def checkin_photo(session: Session, principal: Principal, punch_id: str) -> tuple[bytes, str]:
    """The photo of a check-in, for whoever may read the employee's records."""
    row = _checkin(session, _punch_id(punch_id))
    require_read(session, principal, row.employee_id)
    return row.photo, row.photo_type


def review_checkin(session: Session, principal: Principal, punch_id: str, verdict: str, reason: str | None,
                   now: datetime, config: AttendanceConfig) -> dict:
    """The employee's supervisor confirms a check-in or rejects it (with a reason): a rejected check-in's punch
    is voided and the days around it rebuilt, so it no longer counts. A review is final."""
    row = _checkin(session, _punch_id(punch_id))
    who = person(session, row.employee_id)
    if who is None or who.approver_id != principal.subject:
        raise Forbidden("only the employee's supervisor (or acting supervisor) reviews their check-ins")
    if verdict not in VERDICTS:
        raise Invalid("unknown verdict", field="verdict", message="confirm or reject")
    if verdict == "reject" and not (reason or "").strip():
        raise Invalid("a rejection says why", field="reason", message="required to reject")
    if row.review in ("confirmed", "rejected"):
        raise Conflict(f"check-in {punch_id} was already {row.review} by {row.reviewed_by}", field="verdict")
    state = "confirmed" if verdict == "confirm" else "rejected"
    session.execute(update(tables.checkins).where(tables.checkins.c.punch_id == row.punch_id).values(
        review=state, reviewed_by=principal.subject, reviewed_at=now, review_reason=(reason or "").strip() or None))
    if state == "rejected":
        session.execute(update(tables.punches).where(tables.punches.c.id == row.punch_id).values(voided_at=now))
    # the day no longer carries the doubt (confirmed) or the punch (rejected): a new version, the flag resolved
    rebuild_days(session, row.employee_id, [row.local_date + timedelta(days=n) for n in (-1, 0, 1)], config)
    return _view(_checkin(session, row.punch_id))
