"""Builders of the events scoring consumes (attendance days, entries, decisions, directory, month closed)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from runtime.events import make_event, parse_event

WIB = ZoneInfo("Asia/Jakarta")


def at(hhmm: str, on: date) -> str:
    """A Jakarta wall-clock time on a date as a UTC ISO instant."""
    return datetime.combine(on, time.fromisoformat(hhmm), WIB).astimezone(timezone.utc).isoformat()


def wire(event_type: str, key: str, data: dict):
    """An event as a consumer receives it: made (validated on produce), serialised and parsed back."""
    return parse_event(make_event(event_type, key, data, "test").to_json())


def day(nip: str, on: date, version: int = 1, clock_in: str | None = "07:25", clock_out: str | None = "16:05",
        **changes):
    """An attendance day scheduled 07:30-16:00 (450 min); presence from the punches given."""
    punches = [p for p in (clock_in and f"p-{nip}-{on}-in", clock_out and f"p-{nip}-{on}-out") if p]
    presence = 0
    if clock_in and clock_out:
        presence = int((datetime.fromisoformat(at(clock_out, on)) - datetime.fromisoformat(at(clock_in, on)))
                       .total_seconds() // 60)
    data = {
        "employee_id": nip, "local_date": on.isoformat(), "zone": "Asia/Jakarta", "version": version,
        "status": "present", "scheduled_start": at("07:30", on), "scheduled_end": at("16:00", on),
        "scheduled_minutes": 450, "clock_in": at(clock_in, on) if clock_in else None,
        "clock_out": at(clock_out, on) if clock_out else None, "presence_minutes": presence, "late_minutes": 0,
        "early_leave_minutes": 0, "overtime_minutes": 0, "late_band": None, "early_band": None,
        "missing_clock_in": clock_in is None and clock_out is not None,
        "missing_clock_out": clock_out is None and clock_in is not None,
        "punch_ids": punches, "absence_kind": None, "absence_reference": None,
    }
    data.update(changes)
    return wire("attendance.day.built", nip, data)


def entry(nip: str, entry_id: str, on: date, start: str, end: str, version: int = 1, state: str = "submitted",
          kind: str = "activities.entry.submitted", **changes):
    """An activity entry between two Jakarta wall-clock times; credited minutes = its duration."""
    minutes = int((datetime.fromisoformat(at(end, on)) - datetime.fromisoformat(at(start, on))).total_seconds() // 60)
    data = {
        "entry_id": entry_id, "version": version, "employee_id": nip, "unit_id": None, "position_id": None,
        "local_date": on.isoformat(), "zone": "Asia/Jakarta", "start_at": at(start, on), "end_at": at(end, on),
        "catalogue_item_id": "cat-1", "description": "work", "quantity": 1, "output": "", "norm_minutes": minutes,
        "duration_minutes": minutes, "credited_minutes": minutes, "free_description": False, "state": state,
        "evidence": [],
    }
    data.update(changes)
    return wire(kind, nip, data)


def decision(nip: str, entry_id: str, on: date, decider: str, action: str = "approve", entry_version: int = 1,
             credited: int = 0, **changes):
    """A supervisor's decision on an entry version."""
    state = {"approve": "approved", "reject": "rejected", "strike": "struck", "set_minutes": "approved"}[action]
    data = {
        "decision_id": str(uuid.uuid4()), "entry_id": entry_id, "entry_version": entry_version, "employee_id": nip,
        "unit_id": None, "local_date": on.isoformat(), "decider_id": decider, "action": action, "reason": None,
        "state": state, "accepted_minutes": None, "credited_minutes": credited, "sampled": False,
        "creditable": state == "approved", "escalation_level": 0, "on_time": True,
        "decided_at": datetime.now(timezone.utc).isoformat(),
    }
    data.update(changes)
    return wire("approvals.decision.made", nip, data)


def verification(of, verifier: str, verdict: str = "uphold", **changes):
    """The verification unit's verdict on a decision event `of` (upheld: approved and creditable)."""
    d = of.data
    upheld = verdict == "uphold"
    data = {
        "verification_id": str(uuid.uuid4()), "decision_id": d["decision_id"], "entry_id": d["entry_id"],
        "employee_id": d["employee_id"], "unit_id": d.get("unit_id"), "local_date": d["local_date"].isoformat(),
        "verifier_id": verifier, "verdict": verdict, "reason": None, "state": d["state"] if upheld else "rejected",
        "verified": upheld, "creditable": upheld and d["state"] == "approved",
        "credited_minutes": d["credited_minutes"] if upheld else 0,
        "verified_at": datetime.now(timezone.utc).isoformat(),
    }
    data.update(changes)
    return wire("approvals.verification.made", d["employee_id"], data)


def employee(nip: str, unit_id: str, supervisor: str | None = None, position_id: str | None = "pos-staf", **changes):
    """A directory employee."""
    data = {"employee_id": nip, "name": "Pegawai", "unit_id": unit_id, "position_id": position_id,
            "supervisor_id": supervisor, "acting_supervisor_id": None, "status": "PNS", "zone": "Asia/Jakarta",
            "schedule_id": None, "roles": ["staff"], "active": True}
    data.update(changes)
    return wire("directory.employee.upserted", nip, data)


def unit(unit_id: str, name: str):
    """A directory unit."""
    return wire("directory.unit.upserted", unit_id, {"unit_id": unit_id, "name": name})


def position(position_id: str, name: str, job_class: int = 7):
    """A directory position."""
    return wire("directory.position.upserted", position_id,
                {"position_id": position_id, "name": name, "job_class": job_class, "kind": "executor"})


def holiday(on: date, name: str):
    """A directory holiday."""
    return wire("directory.holiday.upserted", on.isoformat(), {"date": on.isoformat(), "name": name})


def month_closed(unit_id: str, year: int, month: int, closed_by: str):
    """The verification unit closing a unit's month."""
    return wire("approvals.month.closed", unit_id, {
        "unit_id": unit_id, "year": year, "month": month, "closed_by": closed_by,
        "closed_at": datetime.now(timezone.utc).isoformat(), "entry_count": 0})


def working_days(year: int, month: int) -> list[date]:
    """Monday-Friday dates of a month."""
    first = date(year, month, 1)
    out, on = [], first
    while on.month == month:
        if on.weekday() < 5:
            out.append(on)
        on += timedelta(days=1)
    return out
