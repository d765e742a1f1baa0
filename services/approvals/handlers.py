"""The approvals service's use cases: queue, decisions, verification, month close, audit.

The only code touching the tables and publishing. Approvers are resolved from the directory projection:
the acting supervisor (*Plt*) when set, else the direct supervisor; a head of unit's supervisor is their own
superior, so their entries go up. Escalation is computed when the queue is read (no scheduler needed).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from approvals import tables
from approvals.domain import (
    ApprovalsPolicy,
    Decision,
    DecisionKind,
    EntryState,
    EntryUnderDecision,
    InvalidVerification,
    MonthEntry,
    Verdict,
    audit_record,
    can_close_month,
    counts_for_credit,
    decide,
    due_at,
    escalation_level,
    escalation_target,
    is_locked,
    is_sampled,
    month_key,
    overlapping_claims,
    timeliness,
    too_early_to_close,
    verify,
)
from approvals.domain.states import DECIDED_STATES
from runtime.access import require_read
from runtime.audit_chain import append
from runtime.auth import Principal
from runtime.db import upsert_row
from runtime.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from runtime.events import make_event
from runtime.messaging import publish

PRODUCER = "approvals"
MAX_CHAIN = 10  # approval lines are a few levels deep; this bounds a broken directory


@dataclass(frozen=True)
class Context:
    """What every use case needs besides the session: policy, the clock's reading for this request (one moment
    for all it records), and the sample seed; built from the service's context (`approvals.app`)."""

    policy: ApprovalsPolicy
    now: datetime
    sample_seed: str


def _utc(value: datetime) -> datetime:
    """A stored instant as aware UTC (SQLite hands them back without their zone)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _plain(value):
    if isinstance(value, datetime):
        # SQLite hands back stored UTC times without their zone.
        moment = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(session: Session, table, **key) -> dict | None:
    row = session.execute(select(table).where(and_(*(table.c[k] == v for k, v in key.items())))).first()
    return dict(row._mapping) if row else None


def _audit(session: Session, actor: str, action: str, entity: str, before, after, at: datetime,
           entry_id: str | None = None) -> None:
    record = audit_record(actor, action, entity, before, after, at)
    append(session, tables.AUDIT_STREAMS[0], {**record, "at": at, "entry_id": entry_id})


def _entry_audit_view(row: dict) -> dict:
    keys = ("version", "state", "accepted_minutes", "sampled", "verified", "creditable", "last_decision_id")
    return {k: row.get(k) for k in keys}


# ---------------------------------------------------------------- projections (consumed events)

def upsert_employee(session: Session, data: dict, now: datetime) -> None:
    """Keep the directory's employee record (unit, zone, supervisors) in the local projection."""
    values = {k: data.get(k) for k in ("name", "unit_id", "zone", "supervisor_id", "acting_supervisor_id")}
    values.update(active=data.get("active", True), updated_at=now)
    upsert_row(session, tables.employees, {"employee_id": data["employee_id"]}, values)


def receive_entry(session: Session, event_type: str, data: dict, now: datetime) -> None:
    """Take an entry version from activities into the queue; older versions than the one held are ignored."""
    current = _row(session, tables.entries, entry_id=data["entry_id"])
    content = {k: data[k] for k in (
        "version", "employee_id", "local_date", "zone", "start_at", "end_at", "catalogue_item_id", "description",
        "quantity", "output", "norm_minutes", "duration_minutes", "credited_minutes", "free_description", "state")}
    content["evidence"] = [dict(e) for e in data.get("evidence", [])]
    content["unit_id"] = data.get("unit_id") or _unit_of(session, data["employee_id"])
    fresh = {"accepted_minutes": None, "last_decision_id": None, "sampled": False, "verified": None,
             "creditable": None, "received_at": now}
    entity = f"entry:{data['entry_id']}"
    if current is None:
        session.execute(tables.entries.insert().values(entry_id=data["entry_id"], **content, **fresh))
        _audit(session, data["employee_id"], event_type, entity, None, _entry_audit_view({**content, **fresh}), now,
               data["entry_id"])
        return
    if data["version"] < current["version"]:
        return
    if data["version"] > current["version"]:
        changes = {**content, **fresh}
    elif event_type == "activities.entry.withdrawn" and current["state"] == EntryState.SUBMITTED:
        changes = {"state": EntryState.WITHDRAWN.value, "received_at": now}
    else:
        return  # a redelivered version, or a withdrawal that crossed a decision (the decision stands)
    session.execute(tables.entries.update().where(tables.entries.c.entry_id == data["entry_id"]).values(**changes))
    _audit(session, data["employee_id"], event_type, entity, _entry_audit_view(current),
           _entry_audit_view({**current, **changes}), now, data["entry_id"])


def _unit_of(session: Session, employee_id: str) -> str | None:
    row = _row(session, tables.employees, employee_id=employee_id)
    return row["unit_id"] if row else None


def receive_flag(session: Session, event_type: str, data: dict, now: datetime) -> None:
    """Show a cross-check flag on its employee's day as soon as it is raised, and mark it when resolved."""
    values = {"kind": data["kind"], "employee_id": data["employee_id"], "local_date": data["local_date"],
              "message": data["message"], "entry_ids": list(data["evidence"].get("entry_ids", [])),
              "resolution": data.get("resolution"), "resolved": event_type == "scoring.flag.resolved",
              "updated_at": now}
    f = tables.flags
    if _row(session, f, flag_key=data["flag_key"]):
        session.execute(f.update().where(f.c.flag_key == data["flag_key"]).values(**values))
    else:
        session.execute(f.insert().values(flag_key=data["flag_key"], **values))


def receive_day(session: Session, data: dict) -> None:
    """Keep the latest version of an attendance day, shown beside that day's entries."""
    a = tables.attendance_days
    day = {k: _plain(v) for k, v in data.items()}
    current = _row(session, a, employee_id=data["employee_id"], local_date=data["local_date"])
    if current is None:
        session.execute(a.insert().values(employee_id=data["employee_id"], local_date=data["local_date"],
                                          version=data["version"], day=day))
    elif data["version"] > current["version"]:
        session.execute(a.update().where(a.c.employee_id == data["employee_id"], a.c.local_date == data["local_date"])
                        .values(version=data["version"], day=day))


# ---------------------------------------------------------------- who approves whom

def _next_up(session: Session, employee_id: str, cache: dict) -> str | None:
    if employee_id not in cache:
        row = _row(session, tables.employees, employee_id=employee_id)
        nxt = None
        if row is not None:
            for candidate in (row["acting_supervisor_id"], row["supervisor_id"]):
                if candidate and candidate != employee_id:
                    nxt = candidate
                    break
        cache[employee_id] = nxt
    return cache[employee_id]


def approver_chain(session: Session, employee_id: str, cache: dict | None = None) -> list[str]:
    """The employee's approver (Plt first, else supervisor), then that approver's, and so on up the line."""
    cache = {} if cache is None else cache
    chain: list[str] = []
    current = employee_id
    while len(chain) < MAX_CHAIN:
        nxt = _next_up(session, current, cache)
        if nxt is None or nxt == employee_id or nxt in chain:
            break
        chain.append(nxt)
        current = nxt
    return chain


def _reports(session: Session, approver_ids: set[str]) -> set[str]:
    e = tables.employees.c
    rows = session.execute(select(e.employee_id).where(or_(
        e.acting_supervisor_id.in_(approver_ids),
        and_(e.supervisor_id.in_(approver_ids), e.acting_supervisor_id.is_(None)))))
    return {r.employee_id for r in rows}


def _subordinates(session: Session, supervisor_id: str) -> set[str]:
    found: set[str] = set()
    level = {supervisor_id}
    for _ in range(MAX_CHAIN):
        level = _reports(session, level) - found - {supervisor_id}
        if not level:
            break
        found |= level
    return found


def _local_today(ctx: Context, zone: str) -> date:
    return ctx.now.astimezone(ZoneInfo(zone)).date()


def _routing(session: Session, entry: dict, ctx: Context, cache: dict) -> dict:
    chain = approver_chain(session, entry["employee_id"], cache)
    due = due_at(entry["local_date"], ctx.policy)
    level = escalation_level(entry["local_date"], _local_today(ctx, entry["zone"]), ctx.policy) if chain else 0
    target = escalation_target(chain, level) if chain and level > 0 else None
    return {"chain": chain, "approver_id": chain[0] if chain else None, "due_on": due, "escalation_level": level,
            "escalated_to": target}


# ---------------------------------------------------------------- the queue

def _flags(session: Session, employee_id: str, local_date: date) -> list[dict]:
    f = tables.flags.c
    rows = session.execute(select(tables.flags).where(f.employee_id == employee_id, f.local_date == local_date)
                           .order_by(f.flag_key))
    return [{"flag_key": r.flag_key, "kind": r.kind, "message": r.message, "entry_ids": r.entry_ids,
             "resolved": r.resolved, "resolution": r.resolution} for r in rows]


def _day(session: Session, employee_id: str, local_date: date) -> dict | None:
    row = _row(session, tables.attendance_days, employee_id=employee_id, local_date=local_date)
    return row["day"] if row else None


def entry_view(session: Session, entry: dict, routing: dict | None = None) -> dict:
    """An entry as supervisors and verifiers see it: content, state, flags, attendance day, deadline."""
    view = {k: _plain(v) for k, v in entry.items() if k != "received_at"}
    view["flags"] = [f for f in _flags(session, entry["employee_id"], entry["local_date"])
                     if not f["entry_ids"] or entry["entry_id"] in f["entry_ids"]]
    view["attendance_day"] = _day(session, entry["employee_id"], entry["local_date"])
    if routing is not None:
        view.update(approver_id=routing["approver_id"], due_on=routing["due_on"].isoformat(),
                    escalation_level=routing["escalation_level"], escalated_to=routing["escalated_to"])
    return view


def queue(session: Session, supervisor_id: str, ctx: Context) -> list[dict]:
    """Submitted entries the supervisor must decide: their reports' (Plt included), and those escalated to them."""
    employees = _subordinates(session, supervisor_id)
    if not employees:
        return []
    e = tables.entries.c
    rows = session.execute(select(tables.entries).where(e.state == EntryState.SUBMITTED,
                                                        e.employee_id.in_(employees))
                           .order_by(e.local_date, e.start_at))
    cache: dict = {}
    items = []
    for row in rows:
        entry = dict(row._mapping)
        routing = _routing(session, entry, ctx, cache)
        if supervisor_id in (routing["approver_id"], routing["escalated_to"]):
            items.append(entry_view(session, entry, routing))
    return items


# ---------------------------------------------------------------- decisions

def _closed_months(session: Session, unit_id: str | None) -> set[str]:
    c = tables.closed_months.c
    return {r.month for r in session.execute(select(c.month).where(c.unit_id == unit_id))}


def _worth(entry: dict, accepted: int | None = None) -> int:
    """The minutes an approved entry credits: its norm-based minutes, or for a free description those accepted."""
    if not entry["free_description"]:
        return entry["credited_minutes"]
    minutes = accepted if accepted is not None else entry["accepted_minutes"]
    return max(0, min(minutes or 0, entry["duration_minutes"]))


class Refused(DomainError):
    """A decision that cannot apply, with its status (403, 404, 409 or 422) and the fields at fault: a bulk
    decision reports it per entry, a single one is answered with it."""

    TITLES = {403: "Forbidden", 404: "Not found", 409: "Not allowed now", 422: "Validation failed"}

    def __init__(self, status: int, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors), errors, title=self.TITLES.get(status, "Refused"))
        self.status = status


def _classify(message: str) -> tuple[int, str | None]:
    if message.startswith("minutes"):
        return 422, "minutes"
    if message.startswith("a reason"):
        return 422, "reason"
    if message.startswith(("nobody", "only the entry's approver")):
        return 403, None
    return 409, None


def _decision(body: dict) -> Decision:
    kind = DecisionKind(body["action"])
    if kind == DecisionKind.APPROVE:
        return Decision.approve()
    if kind == DecisionKind.SET_MINUTES:
        return Decision.set_minutes(body.get("minutes"))
    return Decision(kind, reason=body.get("reason") or "")


def _decide_one(session: Session, decider_id: str, entry_id: str, body: dict, ctx: Context, cache: dict) -> dict:
    entry = _row(session, tables.entries, entry_id=entry_id)
    if entry is None:
        raise Refused(404, [{"field": "entry_id", "message": f"no entry {entry_id}"}])
    expected = body.get("entry_version")
    if expected is not None and expected != entry["version"]:
        raise Refused(409, [{"field": "entry_version",
                             "message": f"the entry is now at version {entry['version']}, not {expected}"}])
    routing = _routing(session, entry, ctx, cache)
    under = EntryUnderDecision(entry_id, entry["employee_id"], entry["local_date"], EntryState(entry["state"]),
                               entry["duration_minutes"], entry["free_description"], routing["approver_id"] or "",
                               routing["escalated_to"])
    outcome = decide(under, _decision(body), decider_id, _closed_months(session, entry["unit_id"]))
    if not outcome.ok:
        classified = [(*_classify(message), message) for message in outcome.errors]
        statuses = {status for status, _, _ in classified}
        # Authority first (403), then bad input (422), then the entry's state (409).
        status = 403 if 403 in statuses else max(statuses)
        raise Refused(status, [{"field": field, "message": message} for _, field, message in classified])
    return _record_decision(session, decider_id, entry, body, outcome, routing, ctx)


def _record_decision(session: Session, decider_id: str, entry: dict, body: dict, outcome, routing: dict,
                     ctx: Context) -> dict:
    decision_id = str(uuid.uuid4())
    state = EntryState(outcome.state)
    changes_state = state in DECIDED_STATES
    sampled = changes_state and is_sampled(decision_id, ctx.policy.verification.rate, ctx.sample_seed)
    accepted = outcome.accepted_minutes if body["action"] == "set_minutes" else entry["accepted_minutes"]
    creditable = counts_for_credit(state, None, sampled, ctx.policy)
    credited = _worth(entry, accepted) if state == EntryState.APPROVED else 0
    punctuality = timeliness(_local_today(ctx, entry["zone"]), routing["due_on"])
    record = {
        "decision_id": decision_id, "entry_id": entry["entry_id"], "entry_version": entry["version"],
        "employee_id": entry["employee_id"], "unit_id": entry["unit_id"], "local_date": entry["local_date"],
        "decider_id": decider_id, "approver_id": routing["approver_id"], "action": body["action"],
        "reason": body.get("reason") or None, "state_before": entry["state"], "state": state.value,
        "accepted_minutes": outcome.accepted_minutes, "credited_minutes": credited, "sampled": sampled,
        "creditable": creditable, "escalation_level": routing["escalation_level"], "due_on": routing["due_on"],
        "on_time": punctuality.on_time, "days_late": punctuality.days_late, "decided_at": ctx.now,
    }
    session.execute(tables.decisions.insert().values(**record))
    changes = {"state": state.value, "accepted_minutes": accepted, "creditable": creditable}
    if changes_state:
        changes.update(last_decision_id=decision_id, sampled=sampled, verified=None)
    session.execute(tables.entries.update().where(tables.entries.c.entry_id == entry["entry_id"]).values(**changes))
    _audit(session, decider_id, f"decision.{body['action']}", f"entry:{entry['entry_id']}",
           _entry_audit_view(entry), {**_entry_audit_view({**entry, **changes}), "reason": record["reason"],
                                      "decision_id": decision_id}, ctx.now, entry["entry_id"])
    data = {k: _plain(v) for k, v in record.items() if k not in (
        "approver_id", "state_before", "due_on", "days_late")}
    publish(session, make_event("approvals.decision.made", entry["employee_id"], data, PRODUCER))
    return {k: _plain(v) for k, v in record.items()}


def decide_entry(session: Session, decider_id: str, entry_id: str, body: dict, ctx: Context) -> dict:
    """One decision on one entry (approve, reject, strike, set_minutes); Refused says why it cannot apply."""
    return _decide_one(session, decider_id, entry_id, body, ctx, {})


def decide_bulk(session: Session, decider_id: str, entry_ids: list[str], body: dict, ctx: Context) -> list[dict]:
    """The same decision over a selection: each entry succeeds or fails on its own, reported per item."""
    cache: dict = {}
    results = []
    for entry_id in entry_ids:
        savepoint = session.begin_nested()
        try:
            decision = _decide_one(session, decider_id, entry_id, body, ctx, cache)
        except Refused as refused:
            savepoint.rollback()
            results.append({"entry_id": entry_id, "ok": False, "status": refused.status, "errors": refused.errors})
            continue
        savepoint.commit()
        results.append({"entry_id": entry_id, "ok": True, "state": decision["state"], "decision": decision})
    return results


def timeliness_record(session: Session, principal: Principal, supervisor_id: str, date_from: date | None,
                      date_to: date | None) -> dict:
    """How punctually a supervisor decided (state-changing decisions only): counts and days late. For the
    supervisor, admin/ops, and the verifiers of the supervisor's unit."""
    require_read(session, principal, supervisor_id, "you may see only your own timeliness record",
                 supervisors=False)
    d = tables.decisions.c
    query = select(d.on_time, d.days_late, d.escalation_level).where(
        d.decider_id == supervisor_id, d.action != DecisionKind.SET_MINUTES)
    if date_from is not None:
        query = query.where(d.local_date >= date_from)
    if date_to is not None:
        query = query.where(d.local_date <= date_to)
    rows = session.execute(query).all()
    on_time = sum(1 for r in rows if r.on_time)
    return {"supervisor_id": supervisor_id, "decisions": len(rows), "on_time": on_time, "late": len(rows) - on_time,
            "days_late_total": sum(r.days_late for r in rows),
            "escalated": sum(1 for r in rows if r.escalation_level > 0),
            "on_time_rate": round(on_time / len(rows), 4) if rows else None}


# ---------------------------------------------------------------- verification

def assigned_units(session: Session, verifier_id: str) -> list[str]:
    """The units a verifier is assigned to."""
    v = tables.verifier_units.c
    return [r.unit_id for r in session.execute(select(v.unit_id).where(v.verifier_id == verifier_id)
                                               .order_by(v.unit_id))]


def assign_verifier(session: Session, admin_id: str, verifier_id: str, unit_id: str, now: datetime) -> bool:
    """Assign a verifier to a unit (idempotent); returns whether it changed."""
    if _row(session, tables.verifier_units, verifier_id=verifier_id, unit_id=unit_id):
        return False
    session.execute(tables.verifier_units.insert().values(verifier_id=verifier_id, unit_id=unit_id,
                                                          assigned_by=admin_id, assigned_at=now))
    _audit(session, admin_id, "verifier.assigned", f"verifier:{verifier_id}", None, {"unit_id": unit_id}, now)
    _publish_assignment(session, verifier_id, unit_id, True)
    return True


def unassign_verifier(session: Session, admin_id: str, verifier_id: str, unit_id: str, now: datetime) -> bool:
    """Remove a verifier from a unit; returns whether it changed."""
    v = tables.verifier_units.c
    removed = session.execute(tables.verifier_units.delete().where(v.verifier_id == verifier_id,
                                                                   v.unit_id == unit_id)).rowcount
    if removed:
        _audit(session, admin_id, "verifier.unassigned", f"verifier:{verifier_id}", {"unit_id": unit_id}, None, now)
        _publish_assignment(session, verifier_id, unit_id, False)
    return bool(removed)


def _publish_assignment(session: Session, verifier_id: str, unit_id: str, active: bool) -> None:
    """Tell the services that scope a verifier's reads which units are theirs."""
    publish(session, make_event("approvals.verifier.assigned", f"{verifier_id}:{unit_id}",
                                {"verifier_id": verifier_id, "unit_id": unit_id, "active": active}, PRODUCER))


def _require_assigned(session: Session, verifier_id: str, unit_id: str | None) -> None:
    if unit_id is None or unit_id not in assigned_units(session, verifier_id):
        raise Forbidden(f"you are not a verifier of unit {unit_id}")


def verification_queue(session: Session, verifier_id: str, unit_id: str | None, month: str | None) -> list[dict]:
    """Decided entries of the verifier's units whose latest decision was sampled and awaits verification."""
    units = assigned_units(session, verifier_id)
    if unit_id is not None:
        _require_assigned(session, verifier_id, unit_id)
        units = [unit_id]
    e = tables.entries.c
    query = select(tables.entries).where(e.unit_id.in_(units), e.state.in_([s.value for s in DECIDED_STATES]),
                                         e.sampled.is_(True), e.verified.is_(None)).order_by(e.local_date, e.start_at)
    if month is not None:
        start, end = _month_range(month)
        query = query.where(e.local_date >= start, e.local_date < end)
    items = []
    for row in session.execute(query):
        entry = dict(row._mapping)
        view = entry_view(session, entry)
        view["decision"] = {k: _plain(v) for k, v in _row(session, tables.decisions,
                                                          decision_id=entry["last_decision_id"]).items()}
        items.append(view)
    return items


def _refuse_overlapping_overturn(session: Session, entry: dict) -> None:
    """An overturn that would approve an entry over minutes another live entry of the employee claims is refused
    (`overlapping_claims`: the same minutes are credited once)."""
    e = tables.entries.c
    others = session.execute(select(e.entry_id, e.start_at, e.end_at).where(
        e.employee_id == entry["employee_id"], e.entry_id != entry["entry_id"],
        e.state.in_([EntryState.APPROVED.value, EntryState.SUBMITTED.value]),
        e.start_at < entry["end_at"], e.end_at > entry["start_at"])).all()
    clashes = overlapping_claims(_utc(entry["start_at"]), _utc(entry["end_at"]),
                                 [(r.entry_id, _utc(r.start_at), _utc(r.end_at)) for r in others])
    if clashes:
        message = (f"overturning would approve entry {entry['entry_id']} over minutes that entry(ies) "
                   f"{', '.join(clashes)} already claim; the same minutes are credited once: the supervisor "
                   f"rejects or revises one of them first")
        raise Conflict(message, [{"field": "verdict", "message": message}], title="Overlapping claim")


def verify_decision(session: Session, verifier_id: str, decision_id: str, body: dict, ctx: Context) -> dict:
    """Uphold or overturn a decision (reason needed to overturn) and publish approvals.verification.made."""
    decision = _row(session, tables.decisions, decision_id=decision_id)
    if decision is None:
        raise NotFound(f"no decision {decision_id}")
    entry = _row(session, tables.entries, entry_id=decision["entry_id"])
    _require_assigned(session, verifier_id, entry["unit_id"])
    if verifier_id in (entry["employee_id"], decision["decider_id"]):
        raise Forbidden("nobody verifies their own work or their own decision")
    if entry["last_decision_id"] != decision_id:
        raise Conflict("a later decision or a revision replaced this decision", title="Not allowed now")
    if entry["verified"] is not None:
        raise Conflict("this decision was already verified", title="Not allowed now")
    if is_locked(entry["local_date"], _closed_months(session, entry["unit_id"])):
        raise Conflict(f"{month_key(entry['local_date'])} is closed for this unit", title="Month closed")
    try:
        result = verify(EntryState(entry["state"]), Verdict(body["verdict"]), body.get("reason") or "")
    except InvalidVerification as exc:
        if "reason" in str(exc):
            raise Invalid(str(exc), field="reason") from None
        raise Conflict(str(exc), [{"field": None, "message": str(exc)}], title="Not allowed now") from None
    if result.state == EntryState.APPROVED and entry["state"] != EntryState.APPROVED.value:
        _refuse_overlapping_overturn(session, entry)
    creditable = counts_for_credit(result.state, result.verified, entry["sampled"], ctx.policy)
    credited = _worth(entry) if result.state == EntryState.APPROVED else 0
    record = {"verification_id": str(uuid.uuid4()), "decision_id": decision_id, "entry_id": entry["entry_id"],
              "verifier_id": verifier_id, "verdict": body["verdict"], "reason": body.get("reason") or None,
              "state": result.state.value, "verified": result.verified, "verified_at": ctx.now}
    session.execute(tables.verifications.insert().values(**record))
    changes = {"state": result.state.value, "verified": result.verified, "creditable": creditable}
    session.execute(tables.entries.update().where(tables.entries.c.entry_id == entry["entry_id"]).values(**changes))
    _audit(session, verifier_id, f"verification.{body['verdict']}", f"entry:{entry['entry_id']}",
           _entry_audit_view(entry), {**_entry_audit_view({**entry, **changes}), "reason": record["reason"],
                                      "verification_id": record["verification_id"]}, ctx.now, entry["entry_id"])
    data = {**{k: _plain(v) for k, v in record.items()}, "employee_id": entry["employee_id"],
            "unit_id": entry["unit_id"], "local_date": _plain(entry["local_date"]), "creditable": creditable,
            "credited_minutes": credited}
    publish(session, make_event("approvals.verification.made", entry["employee_id"], data, PRODUCER))
    return data


# ---------------------------------------------------------------- months

def _month_range(month: str) -> tuple[date, date]:
    try:
        start = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise Invalid(f"{month!r} is not a month", field="month", message="use YYYY-MM") from None
    return start, (start + timedelta(days=32)).replace(day=1)


def closed_months(session: Session, unit_id: str) -> list[dict]:
    """The closed months of a unit."""
    c = tables.closed_months.c
    return [{"unit_id": r.unit_id, "month": r.month, "closed_by": r.closed_by, "closed_at": _plain(r.closed_at),
             "entry_count": r.entry_count}
            for r in session.execute(select(tables.closed_months).where(c.unit_id == unit_id).order_by(c.month))]


def close_month(session: Session, verifier_id: str, unit_id: str, month: str, ctx: Context) -> dict:
    """Close a unit's month (its verifier), refused with every reason while entries await decision or
    verification; then its entries are locked and approvals.month.closed is published."""
    start, end = _month_range(month)
    _require_assigned(session, verifier_id, unit_id)
    if _row(session, tables.closed_months, unit_id=unit_id, month=month):
        raise Conflict(f"{month} is already closed for unit {unit_id}", title="Already closed")
    zones = session.execute(select(tables.employees.c.zone).distinct().where(
        tables.employees.c.unit_id == unit_id, tables.employees.c.active.is_(True))).scalars().all()
    early = too_early_to_close(start, zones, ctx.now, ctx.policy.month_close.from_local_time)
    e = tables.entries.c
    rows = session.execute(select(e.entry_id, e.state, e.verified, e.sampled).where(
        e.unit_id == unit_id, e.local_date >= start, e.local_date < end)).all()
    reasons = ([early] if early else []) + can_close_month(
        MonthEntry(r.entry_id, EntryState(r.state), r.verified, r.sampled) for r in rows)
    if reasons:
        raise Conflict("; ".join(reasons), [{"field": "month", "message": reason} for reason in reasons],
                       title="Month cannot be closed yet")
    record = {"unit_id": unit_id, "month": month, "closed_by": verifier_id, "closed_at": ctx.now,
              "entry_count": len(rows)}
    session.execute(tables.closed_months.insert().values(**record))
    _audit(session, verifier_id, "month.closed", f"month:{unit_id}:{month}", None,
           {"entry_count": len(rows)}, ctx.now)
    data = {"unit_id": unit_id, "year": start.year, "month": start.month, "closed_by": verifier_id,
            "closed_at": _plain(ctx.now), "entry_count": len(rows)}
    publish(session, make_event("approvals.month.closed", unit_id, data, PRODUCER))
    return {k: _plain(v) for k, v in record.items()}


# ---------------------------------------------------------------- reading

def _may_see_entry(session: Session, principal: Principal, entry: dict) -> bool:
    if principal.subject == entry["employee_id"] or principal.has("admin", "ops"):
        return True
    if principal.has("verifier") and entry["unit_id"] in assigned_units(session, principal.subject):
        return True
    return principal.subject in approver_chain(session, entry["employee_id"])


def get_entry(session: Session, principal: Principal, entry_id: str, ctx: Context) -> dict:
    """One entry with its decisions, for its owner, anyone up its approval line, its unit's verifier, admin/ops."""
    entry = _row(session, tables.entries, entry_id=entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}")
    if not _may_see_entry(session, principal, entry):
        raise Forbidden("you may not see this entry")
    view = entry_view(session, entry, _routing(session, entry, ctx, {}))
    d = tables.decisions.c
    view["decisions"] = [{k: _plain(v) for k, v in r._mapping.items()} for r in session.execute(
        select(tables.decisions).where(d.entry_id == entry_id).order_by(d.decided_at))]
    return view


def audit_trail(session: Session, principal: Principal, entry_id: str) -> list[dict]:
    """Every audit record of one entry, oldest first."""
    entry = _row(session, tables.entries, entry_id=entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}")
    if not _may_see_entry(session, principal, entry):
        raise Forbidden("you may not see this entry's audit trail")
    a = tables.audit.c
    return [{"at": _plain(r.at), "actor": r.actor, "action": r.action, "entity": r.entity, "before": r.before,
             "after": r.after, "changed": r.changed}
            for r in session.execute(select(tables.audit).where(a.entry_id == entry_id).order_by(a.id))]
