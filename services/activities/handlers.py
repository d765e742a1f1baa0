"""The activities service's use cases: catalogue, evidence, entries; the only code touching tables and publishing.

An entry is owned here; approvals decides on it and its decision events come back through `apply_decision`
and `apply_verification`, so staff see the outcome (and may revise a rejected entry).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from activities import tables
from activities.domain import (
    ActivitiesPolicy,
    ActivityEntry,
    CatalogueItem,
    EntryAction,
    EntryDraft,
    EntryState,
    FieldError,
    InvalidTransition,
    check_evidence,
    credited_minutes,
    duration_minutes,
    parse_catalogue_csv,
    sniff_evidence,
    transition,
    validate_entry,
)
from activities.domain.evidence import SNIFF_BYTES
from runtime.auth import Principal
from runtime.events import make_event
from runtime.messaging import publish
from runtime.access import require_read
from runtime.errors import Conflict, Forbidden, Invalid, NotFound

PRODUCER = "activities"
_DECISION_ACTIONS = {"approve": EntryAction.APPROVE, "reject": EntryAction.REJECT, "strike": EntryAction.STRIKE}


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _invalid(errors: list[FieldError], detail: str = "the request has invalid fields") -> Invalid:
    return Invalid(detail, [{"field": e.field, "message": e.message} for e in errors])


# ---------------------------------------------------------------- projections (consumed events)

def upsert_employee(session: Session, data: dict, now: datetime) -> None:
    """Keep the directory's employee record (unit, position, zone, supervisors) in the local projection."""
    e = tables.employees
    values = {k: data.get(k) for k in ("unit_id", "position_id", "zone", "supervisor_id", "acting_supervisor_id")}
    values.update(active=data.get("active", True), updated_at=now)
    if session.execute(select(e.c.employee_id).where(e.c.employee_id == data["employee_id"])).first():
        session.execute(e.update().where(e.c.employee_id == data["employee_id"]).values(**values))
    else:
        session.execute(e.insert().values(employee_id=data["employee_id"], **values))


def record_month_closed(session: Session, data: dict) -> None:
    """Lock a unit's month: its entries can no longer change."""
    month = f"{data['year']:04d}-{data['month']:02d}"
    c = tables.closed_months.c
    if session.execute(select(c.unit_id).where(c.unit_id == data["unit_id"], c.month == month)).first() is None:
        session.execute(tables.closed_months.insert().values(
            unit_id=data["unit_id"], month=month, closed_by=data["closed_by"], closed_at=data["closed_at"]))


def _history(session: Session, row, action: str, actor: str, now: datetime) -> None:
    session.execute(tables.entry_history.insert().values(
        entry_id=row["entry_id"], version=row["version"], action=action, actor=actor, at=now,
        snapshot=_plain(row)))


def apply_decision(session: Session, data: dict, policy: ActivitiesPolicy, now: datetime) -> None:
    """Apply a supervisor's decision to the entry version it judged; a decision on an older version is only noted."""
    row = _entry_row(session, data["entry_id"])
    if row is None:
        return
    action = data["action"]
    stale = row["version"] != data["entry_version"] or row["state"] != EntryState.SUBMITTED
    if not stale and action in _DECISION_ACTIONS:
        try:
            transition(EntryState(row["state"]), _DECISION_ACTIONS[action])
        except InvalidTransition:
            stale = True
    if stale:
        _history(session, row, f"decision_ignored:{action}", data["decider_id"], now)
        return
    changes: dict = {"updated_at": now}
    if action == "set_minutes":
        changes["accepted_minutes"] = data["accepted_minutes"]
        changes["credited_minutes"] = credited_minutes(None, row["quantity"], row["duration_minutes"],
                                                       data["accepted_minutes"], policy)
    else:
        changes.update(state=data["state"], decision_reason=data.get("reason"), decided_by=data["decider_id"],
                       creditable=data["creditable"], verified=None, last_decision_id=data["decision_id"])
    _update_entry(session, row["entry_id"], changes)
    _history(session, {**row, **changes}, f"decision:{action}", data["decider_id"], now)
    pending = session.execute(select(tables.pending_verifications).where(
        tables.pending_verifications.c.decision_id == data["decision_id"])).first()
    if pending is not None:
        session.execute(tables.pending_verifications.delete().where(
            tables.pending_verifications.c.decision_id == data["decision_id"]))
        apply_verification(session, pending.data, now)


def apply_verification(session: Session, data: dict, now: datetime) -> None:
    """Apply the verification unit's verdict on the entry's latest decision: an overturned approval stops
    counting, an overturned refusal counts; a verdict that outran its decision waits for it."""
    row = _entry_row(session, data["entry_id"])
    if row is None:
        return
    if row["last_decision_id"] != data["decision_id"]:
        # The decision is still on its way (it is applied once, then takes this along), or a later decision or
        # revision replaced it (then this parked verdict is never taken and changes nothing).
        if session.execute(select(tables.pending_verifications.c.decision_id).where(
                tables.pending_verifications.c.decision_id == data["decision_id"])).first() is None:
            session.execute(tables.pending_verifications.insert().values(
                decision_id=data["decision_id"], entry_id=data["entry_id"], data=_plain(data), received_at=now))
        return
    changes = {"state": data["state"], "verified": data["verified"], "creditable": data["creditable"],
               "updated_at": now}
    if data["verdict"] == "overturn":
        changes["decision_reason"] = data.get("reason")
    _update_entry(session, row["entry_id"], changes)
    _history(session, {**row, **changes}, f"verification:{data['verdict']}", data["verifier_id"], now)


# ---------------------------------------------------------------- catalogue

def _item_dict(row) -> dict:
    return {"item_id": row.item_id, "unit_id": row.unit_id, "position_id": row.position_id,
            "description": row.description, "norm_minutes": row.norm_minutes, "output_unit": row.output_unit,
            "active": row.active}


def _store_item(session: Session, item: CatalogueItem, now: datetime) -> None:
    c = tables.catalogue_items.c
    values = {"unit_id": item.unit_id, "position_id": item.position_id, "description": item.description,
              "norm_minutes": item.norm_minutes, "output_unit": item.output_unit, "active": True, "updated_at": now}
    if session.execute(select(c.item_id).where(c.item_id == item.item_id)).first():
        session.execute(tables.catalogue_items.update().where(c.item_id == item.item_id).values(**values))
    else:
        session.execute(tables.catalogue_items.insert().values(item_id=item.item_id, **values))


def import_catalogue(session: Session, text: str, actor: str, now: datetime) -> dict:
    """Import a catalogue CSV: every good row is stored (new or changed), every bad row reported with its line."""
    items, errors = parse_catalogue_csv(text)
    for item in items:
        _store_item(session, item, now)
    report = {"import_id": str(uuid.uuid4()), "rows_accepted": len(items),
              "rows_rejected": len({e.line for e in errors}),
              "errors": [{"line": e.line, "field": e.field, "reason": e.reason} for e in errors]}
    session.execute(tables.catalogue_imports.insert().values(imported_at=now, imported_by=actor, **report))
    return report


def list_catalogue(session: Session, unit_id: str | None = None, position_id: str | None = None) -> list[dict]:
    """Active catalogue items; with a unit or position, the items open to it (and those open to everyone)."""
    c = tables.catalogue_items.c
    query = select(tables.catalogue_items).where(c.active.is_(True)).order_by(c.item_id)
    if unit_id is not None:
        query = query.where(or_(c.unit_id.is_(None), c.unit_id == unit_id))
    if position_id is not None:
        query = query.where(or_(c.position_id.is_(None), c.position_id == position_id))
    return [_item_dict(r) for r in session.execute(query)]


def _catalogue_item(session: Session, item_id: str) -> CatalogueItem | None:
    row = session.execute(select(tables.catalogue_items).where(
        tables.catalogue_items.c.item_id == item_id, tables.catalogue_items.c.active.is_(True))).first()
    if row is None:
        return None
    return CatalogueItem(row.item_id, row.unit_id, row.position_id, row.description, row.norm_minutes, row.output_unit)


# ---------------------------------------------------------------- people and access

@dataclass(frozen=True)
class Staff:
    """An employee as the activities service knows them from the directory."""

    employee_id: str
    unit_id: str
    position_id: str | None
    zone: str
    approver_id: str | None


def staff(session: Session, employee_id: str) -> Staff | None:
    """The employee from the directory projection; the approver is the acting supervisor (Plt) when set."""
    row = session.execute(select(tables.employees).where(tables.employees.c.employee_id == employee_id)).first()
    if row is None:
        return None
    return Staff(row.employee_id, row.unit_id, row.position_id, row.zone,
                 row.acting_supervisor_id or row.supervisor_id)


def _require_staff(session: Session, employee_id: str) -> Staff:
    person = staff(session, employee_id)
    if person is None:
        raise Conflict(f"{employee_id} is not (yet) in the directory", title="Unknown employee")
    return person


def _check_reader(session: Session, principal: Principal, employee_id: str) -> None:
    require_read(session, principal, employee_id, "you may see only your own entries and your reports'")


def _month_locked(session: Session, unit_id: str, day: date) -> bool:
    c = tables.closed_months.c
    return session.execute(select(c.unit_id).where(c.unit_id == unit_id, c.month == _month_key(day))).first() is not None


# ---------------------------------------------------------------- evidence

def store_evidence(session: Session, store, employee_id: str, filename: str, content: bytes,
                   policy: ActivitiesPolicy, now: datetime) -> dict:
    """Accept an evidence file whose bytes (not its name) are JPEG, PNG or PDF within the size limit."""
    _require_staff(session, employee_id)
    mime = sniff_evidence(content[:SNIFF_BYTES])
    errors = check_evidence(len(content), mime, policy)
    if errors:
        raise _invalid(errors, "the evidence file was refused")
    sha256 = hashlib.sha256(content).hexdigest()
    key = store.put(sha256, content)
    record = {"evidence_id": str(uuid.uuid4()), "employee_id": employee_id, "entry_id": None, "sha256": sha256,
              "mime": mime, "size": len(content), "filename": (filename or "")[:300], "storage_key": key,
              "uploaded_at": now}
    session.execute(tables.evidence.insert().values(**record))
    return _evidence_dict(record)


def _evidence_dict(row) -> dict:
    row = dict(row._mapping) if hasattr(row, "_mapping") else row
    return {"evidence_id": row["evidence_id"], "entry_id": row["entry_id"], "sha256": row["sha256"],
            "mime": row["mime"], "size": row["size"], "filename": row["filename"],
            "uploaded_at": _utc(row["uploaded_at"]).isoformat()}


def evidence_file(session: Session, store, principal: Principal, evidence_id: str) -> tuple[dict, bytes]:
    """An evidence file's record and bytes, for its owner, their approver, or verifier/admin/ops."""
    row = session.execute(select(tables.evidence).where(tables.evidence.c.evidence_id == evidence_id)).first()
    if row is None:
        raise NotFound(f"no evidence {evidence_id}")
    _check_reader(session, principal, row.employee_id)
    return _evidence_dict(row), store.get(row.storage_key)


def _evidence_errors(session: Session, employee_id: str, entry_id: str | None, ids: list[str]) -> list[FieldError]:
    if not ids:
        return []
    rows = {r.evidence_id: r for r in session.execute(
        select(tables.evidence).where(tables.evidence.c.evidence_id.in_(ids)))}
    errors = []
    for index, evidence_id in enumerate(ids):
        row = rows.get(evidence_id)
        if row is None or row.employee_id != employee_id:
            errors.append(FieldError(f"evidence_ids.{index}", f"no evidence {evidence_id} uploaded by you"))
        elif row.entry_id is not None and row.entry_id != entry_id:
            errors.append(FieldError(f"evidence_ids.{index}", f"evidence {evidence_id} belongs to another entry"))
    return errors


def _attach_evidence(session: Session, entry_id: str, ids: list[str]) -> None:
    e = tables.evidence.c
    session.execute(tables.evidence.update().where(e.entry_id == entry_id, e.evidence_id.not_in(ids or [""]))
                    .values(entry_id=None))
    if ids:
        session.execute(tables.evidence.update().where(e.evidence_id.in_(ids)).values(entry_id=entry_id))


# ---------------------------------------------------------------- entries

def _entry_row(session: Session, entry_id: str) -> dict | None:
    row = session.execute(select(tables.entries).where(tables.entries.c.entry_id == entry_id)).first()
    return dict(row._mapping) if row else None


def _update_entry(session: Session, entry_id: str, changes: dict) -> None:
    session.execute(tables.entries.update().where(tables.entries.c.entry_id == entry_id).values(**changes))


def _utc(moment: datetime) -> datetime:
    # SQLite hands back stored UTC times without their zone.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _plain(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = _utc(value).isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


def _evidence_refs(session: Session, entry_id: str) -> list[dict]:
    e = tables.evidence.c
    return [{"evidence_id": r.evidence_id, "sha256": r.sha256, "mime": r.mime, "size": r.size}
            for r in session.execute(select(tables.evidence).where(e.entry_id == entry_id).order_by(e.uploaded_at,
                                                                                                    e.evidence_id))]


def entry_view(session: Session, row: dict) -> dict:
    """An entry as the API shows it: its fields, its evidence, and whether its month is locked."""
    view = _plain(row)
    view["free_description"] = row["catalogue_item_id"] is None
    view["evidence"] = _evidence_refs(session, row["entry_id"])
    view["month_locked"] = _month_locked(session, row["unit_id"], row["local_date"])
    return view


def _event_data(session: Session, row: dict) -> dict:
    keys = ("entry_id", "version", "employee_id", "unit_id", "position_id", "local_date", "zone", "start_at",
            "end_at", "catalogue_item_id", "description", "quantity", "output", "norm_minutes", "duration_minutes",
            "credited_minutes", "state")
    data = {k: row[k] for k in keys}
    data.update(free_description=row["catalogue_item_id"] is None, evidence=_evidence_refs(session, row["entry_id"]))
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in data.items()}


def _publish(session: Session, event_type: str, row: dict) -> None:
    publish(session, make_event(event_type, row["employee_id"], _event_data(session, row), PRODUCER))


def _as_active(row) -> ActivityEntry:
    return ActivityEntry(row.entry_id, row.employee_id, row.local_date, _utc(row.start_at), _utc(row.end_at),
                         row.catalogue_item_id, row.quantity, row.duration_minutes, row.credited_minutes,
                         EntryState(row.state), row.verified, row.description, row.version)


def _neighbours(session: Session, employee_id: str, start_at: datetime, end_at: datetime) -> list[ActivityEntry]:
    e = tables.entries.c
    rows = session.execute(select(tables.entries).where(
        e.employee_id == employee_id, e.start_at < _utc(end_at), e.end_at > _utc(start_at)))
    return [_as_active(r) for r in rows]


def _localise(moment: datetime, zone: str) -> datetime:
    # A time sent without an offset is the employee's own wall-clock time.
    return moment.replace(tzinfo=ZoneInfo(zone)) if moment.tzinfo is None else moment


def _prepare(session: Session, person: Staff, body: dict, entry_id: str | None, policy: ActivitiesPolicy,
             now: datetime) -> dict:
    """Validate a submitted or edited entry; return its stored fields, or raise 422 naming every field at fault."""
    start_at, end_at = _localise(body["start_at"], person.zone), _localise(body["end_at"], person.zone)
    local_date = start_at.astimezone(ZoneInfo(person.zone)).date()
    today = now.astimezone(ZoneInfo(person.zone)).date()
    item_id = body.get("catalogue_item_id") or None
    draft = EntryDraft(person.employee_id, local_date, start_at, end_at, body["quantity"], item_id,
                       body.get("description") or "", tuple(body["evidence_ids"]), entry_id)
    neighbours = _neighbours(session, person.employee_id, start_at, end_at) if end_at > start_at else []
    errors = validate_entry(draft, today, neighbours, policy)
    item = None
    if item_id:
        item = _catalogue_item(session, item_id)
        if item is None:
            errors.append(FieldError("catalogue_item_id", f"no catalogue item {item_id}"))
        elif (item.unit_id and item.unit_id != person.unit_id) or (item.position_id and
                                                                 item.position_id != person.position_id):
            errors.append(FieldError("catalogue_item_id", f"{item_id} is not a duty of your unit or position"))
            item = None
    errors += _evidence_errors(session, person.employee_id, entry_id, body["evidence_ids"])
    if errors:
        raise _invalid(errors)
    if _month_locked(session, person.unit_id, local_date):
        raise Conflict(f"{_month_key(local_date)} is closed for your unit; changes are locked", title="Month closed")
    duration = duration_minutes(start_at, end_at)
    return {
        "employee_id": person.employee_id, "unit_id": person.unit_id, "position_id": person.position_id,
        "local_date": local_date, "zone": person.zone,
        "start_at": start_at.astimezone(timezone.utc), "end_at": end_at.astimezone(timezone.utc),
        "catalogue_item_id": item_id, "description": body.get("description") or "", "quantity": body["quantity"],
        "output": body.get("output") or "", "note": body.get("note") or "", "location": body.get("location"),
        "norm_minutes": item.norm_minutes if item else None, "duration_minutes": duration,
        "accepted_minutes": None, "credited_minutes": credited_minutes(item, body["quantity"], duration, None, policy),
    }


def submit_entry(session: Session, employee_id: str, body: dict, policy: ActivitiesPolicy, now: datetime) -> dict:
    """Record a new daily entry for the caller and publish activities.entry.submitted."""
    person = _require_staff(session, employee_id)
    fields = _prepare(session, person, body, None, policy, now)
    row = {"entry_id": str(uuid.uuid4()), "version": 1, **fields, "state": EntryState.SUBMITTED.value,
           "verified": None, "creditable": None, "decision_reason": None, "decided_by": None,
           "last_decision_id": None,
           "created_at": now, "updated_at": now}
    session.execute(tables.entries.insert().values(**row))
    _attach_evidence(session, row["entry_id"], body["evidence_ids"])
    _history(session, row, "submit", employee_id, now)
    _publish(session, "activities.entry.submitted", row)
    return entry_view(session, row)


def _own_entry(session: Session, employee_id: str, entry_id: str) -> dict:
    row = _entry_row(session, entry_id)
    if row is None:
        raise NotFound(f"no entry {entry_id}")
    if row["employee_id"] != employee_id:
        raise Forbidden("only the entry's owner may change it")
    return row


def _move(row: dict, action: EntryAction, locked: bool) -> EntryState:
    try:
        return transition(EntryState(row["state"]), action, month_locked=locked)
    except InvalidTransition as exc:
        raise Conflict(str(exc), title="Not allowed now") from None


def change_entry(session: Session, employee_id: str, entry_id: str, body: dict, policy: ActivitiesPolicy,
                 now: datetime) -> dict:
    """Edit a submitted entry, or revise a rejected one; either makes a new version and publishes it as revised."""
    row = _own_entry(session, employee_id, entry_id)
    if body.get("version") is not None and body["version"] != row["version"]:
        raise Conflict(f"the entry is at version {row['version']}, not {body['version']}", title="Edit conflict")
    action = EntryAction.REVISE if row["state"] == EntryState.REJECTED else EntryAction.EDIT
    state = _move(row, action, _month_locked(session, row["unit_id"], row["local_date"]))
    person = _require_staff(session, employee_id)
    fields = _prepare(session, person, body, entry_id, policy, now)
    changes = {**fields, "version": row["version"] + 1, "state": state.value, "verified": None, "creditable": None,
               "decision_reason": None, "decided_by": None, "last_decision_id": None, "updated_at": now}
    _update_entry(session, entry_id, changes)
    _attach_evidence(session, entry_id, body["evidence_ids"])
    row = {**row, **changes}
    _history(session, row, action.value, employee_id, now)
    _publish(session, "activities.entry.revised", row)
    return entry_view(session, row)


def withdraw_entry(session: Session, employee_id: str, entry_id: str, now: datetime) -> dict:
    """Withdraw an undecided entry (final) and publish activities.entry.withdrawn."""
    row = _own_entry(session, employee_id, entry_id)
    state = _move(row, EntryAction.WITHDRAW, _month_locked(session, row["unit_id"], row["local_date"]))
    changes = {"state": state.value, "updated_at": now}
    _update_entry(session, entry_id, changes)
    row = {**row, **changes}
    _history(session, row, "withdraw", employee_id, now)
    _publish(session, "activities.entry.withdrawn", row)
    return entry_view(session, row)


def get_entry(session: Session, principal: Principal, entry_id: str) -> dict:
    """One entry, for its owner, their approver, or verifier/admin/ops."""
    row = _entry_row(session, entry_id)
    if row is None:
        raise NotFound(f"no entry {entry_id}")
    _check_reader(session, principal, row["employee_id"])
    return entry_view(session, row)


def entry_history(session: Session, principal: Principal, entry_id: str) -> list[dict]:
    """Every version and outcome of one entry, oldest first."""
    get_entry(session, principal, entry_id)
    h = tables.entry_history.c
    return [{"version": r.version, "action": r.action, "actor": r.actor, "at": _utc(r.at).isoformat(),
             "snapshot": r.snapshot}
            for r in session.execute(select(tables.entry_history).where(h.entry_id == entry_id).order_by(h.id))]


def list_entries(session: Session, principal: Principal, employee_id: str, date_from: date | None,
                 date_to: date | None, state: str | None) -> list[dict]:
    """One employee's entries (by date and time), filtered by dates and state."""
    _check_reader(session, principal, employee_id)
    e = tables.entries.c
    query = select(tables.entries).where(e.employee_id == employee_id).order_by(e.start_at)
    if date_from is not None:
        query = query.where(e.local_date >= date_from)
    if date_to is not None:
        query = query.where(e.local_date <= date_to)
    if state:
        query = query.where(e.state == state)
    return [entry_view(session, dict(r._mapping)) for r in session.execute(query)]

