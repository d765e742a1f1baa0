"""The directory's use cases: validate, store, and publish every change on the compacted topics.

An upsert that changes nothing publishes nothing, so importing the same roster twice is harmless.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

from marshmallow import Schema
from sqlalchemy import JSON, Date, Table, and_, or_, select
from sqlalchemy.orm import Session

from contracts import directory as contract
from directory import tables
from directory.domain import calendar, org, roster, schedules
from directory.domain.nip import InvalidNip, validate_nip
from runtime.db import upsert_row
from runtime.events import make_event
from runtime.messaging import publish
from runtime.errors import Invalid, NotFound

PRODUCER = "directory"


@dataclass(frozen=True)
class Entity:
    """How one kind of directory record is stored and published."""

    table: Table
    keys: tuple[str, ...]
    event_type: str
    schema: type[Schema]

    def key_of(self, record: dict) -> str:
        """The record's Kafka key (its identity on the compacted topic)."""
        return ":".join(str(record[k]) for k in self.keys)


ENTITIES = {
    "unit": Entity(tables.units, ("unit_id",), "directory.unit.upserted", contract.UnitSchema),
    "position": Entity(tables.positions, ("position_id",), "directory.position.upserted", contract.PositionSchema),
    "employee": Entity(tables.employees, ("employee_id",), "directory.employee.upserted", contract.EmployeeSchema),
    "schedule": Entity(tables.schedules, ("schedule_id",), "directory.schedule.upserted", contract.ScheduleSchema),
    "holiday": Entity(tables.holidays, ("date",), "directory.holiday.upserted", contract.HolidaySchema),
    "enrolment": Entity(tables.enrolments, ("device_serial", "pin"), "directory.enrolment.upserted",
                        contract.EnrolmentSchema),
    "geofence": Entity(tables.geofences, ("fence_id",), "directory.geofence.upserted", contract.GeofenceSchema),
}


def _record(entity: Entity, row) -> dict:
    fields = entity.schema().fields
    return {name: getattr(row, name) for name in fields}


def _json_columns(entity: Entity) -> set[str]:
    return {c.name for c in entity.table.columns if isinstance(c.type, JSON)}


def _db_values(entity: Entity, record: dict) -> dict:
    """Column values: JSON columns hold the contract's dumped (wire) form, others the loaded values."""
    dumped = entity.schema().dump(record)
    json_columns = _json_columns(entity)
    return {k: (dumped[k] if k in json_columns else v) for k, v in record.items()}


def _public(entity: Entity, row) -> dict:
    """A stored row in its contract (wire) shape."""
    values = _record(entity, row)
    json_columns = _json_columns(entity)
    out = entity.schema(exclude=tuple(json_columns)).dump({k: v for k, v in values.items() if k not in json_columns})
    out.update({k: values[k] for k in json_columns})
    return {name: out[name] for name in entity.schema().fields}


def _key_value(column, value):
    # A key from a URL is text; PostgreSQL does not compare a DATE column with text (a holiday's date).
    return date.fromisoformat(value) if isinstance(column.type, Date) and isinstance(value, str) else value


def get(session: Session, kind: str, *key) -> dict | None:
    """One record by key, as its contract shape, or None."""
    entity = ENTITIES[kind]
    cond = and_(*(entity.table.c[k] == _key_value(entity.table.c[k], v) for k, v in zip(entity.keys, key)))
    row = session.execute(select(entity.table).where(cond)).first()
    return _public(entity, row) if row else None


def list_records(session: Session, kind: str, **filters) -> list[dict]:
    """Records of one kind, filtered by equality on columns, in key order."""
    entity = ENTITIES[kind]
    query = select(entity.table).order_by(*(entity.table.c[k] for k in entity.keys))
    for column, value in filters.items():
        if value is not None:
            query = query.where(entity.table.c[column] == value)
    return [_public(entity, row) for row in session.execute(query)]


def _store(session: Session, kind: str, record: dict) -> bool:
    """Insert or update; publish the new state when it changed. Returns whether it changed."""
    entity = ENTITIES[kind]
    cond = and_(*(entity.table.c[k] == record[k] for k in entity.keys))
    current = session.execute(select(entity.table).where(cond)).first()
    stored = _db_values(entity, record)
    if current is not None and _record(entity, current) == stored:
        return False
    values = dict(stored, updated_at=datetime.now(timezone.utc))
    if current is None:
        session.execute(entity.table.insert().values(**values))
    else:
        session.execute(entity.table.update().where(cond).values(**values))
    publish(session, make_event(entity.event_type, entity.key_of(record), entity.schema().dump(record), PRODUCER))
    return True


def _load(kind: str, data: dict) -> dict:
    return ENTITIES[kind].schema().load(data)  # a ValidationError names each field at fault


def _refuse(field: str, message: str):
    raise Invalid(message, field=field)


def _exists(session: Session, kind: str, *key) -> bool:
    return get(session, kind, *key) is not None


def _org_employees(session: Session) -> dict[str, org.Employee]:
    rows = session.execute(select(tables.employees.c.employee_id, tables.employees.c.name, tables.employees.c.unit_id,
                                  tables.employees.c.position_id, tables.employees.c.status, tables.employees.c.zone,
                                  tables.employees.c.supervisor_id, tables.employees.c.acting_supervisor_id))
    return {r.employee_id: org.Employee(r.employee_id, r.name, r.unit_id, r.position_id or "", org.EmployeeStatus(r.status),
                                        r.zone, r.supervisor_id, r.acting_supervisor_id) for r in rows}


def upsert_unit(session: Session, data: dict) -> bool:
    """Create or change an organisation unit; the tree must stay a tree."""
    record = _load("unit", data)
    units = {r.unit_id: org.Unit(r.unit_id, r.name, r.parent_unit_id) for r in session.execute(select(tables.units))}
    units[record["unit_id"]] = org.Unit(record["unit_id"], record["name"], record["parent_unit_id"])
    for error in org.validate_unit_tree(units.values()):
        if error.subject_id == record["unit_id"] or record["unit_id"] in error.reason:
            _refuse("parent_unit_id", error.reason)
    return _store(session, "unit", record)


def upsert_position(session: Session, data: dict) -> bool:
    """Create or change a position (job class 1-17)."""
    record = _load("position", data)
    if record["unit_id"] and not _exists(session, "unit", record["unit_id"]):
        _refuse("unit_id", f"unknown unit {record['unit_id']}")
    return _store(session, "position", record)


def upsert_employee(session: Session, data: dict, today: date) -> bool:
    """Create or change an employee: valid NIP, known unit/position/schedule, supervisors known and acyclic.
    `work_anywhere` left out keeps what the employee had."""
    if "work_anywhere" not in data:
        existing = get(session, "employee", data.get("employee_id", ""))
        data = {**data, "work_anywhere": bool(existing and existing["work_anywhere"])}
    record = _load("employee", data)
    try:
        validate_nip(record["employee_id"], today, pppk=record["status"] == "PPPK")
    except InvalidNip as exc:
        _refuse("employee_id", exc.reason)
    for field, kind in (("unit_id", "unit"), ("position_id", "position"), ("schedule_id", "schedule")):
        if record[field] and not _exists(session, kind, record[field]):
            _refuse(field, f"unknown {kind} {record[field]}")
    for field in ("supervisor_id", "acting_supervisor_id"):
        if record[field] and record[field] != record["employee_id"] and not _exists(session, "employee", record[field]):
            _refuse(field, f"unknown employee {record[field]}")
    employees = _org_employees(session)
    employees[record["employee_id"]] = org.Employee(
        record["employee_id"], record["name"], record["unit_id"], record["position_id"] or "",
        org.EmployeeStatus(record["status"]), record["zone"], record["supervisor_id"], record["acting_supervisor_id"])
    for error in org.validate_supervision(employees):
        if error.subject_id == record["employee_id"] or record["employee_id"] in error.reason:
            _refuse(error.field, error.reason)
    return _store(session, "employee", record)


def set_roles(session: Session, employee_id: str, roles: list[str]) -> bool:
    """Grant exactly `roles` to an employee (users and roles)."""
    from directory.domain.roles import InvalidRole, parse_roles
    current = get(session, "employee", employee_id)
    if current is None:
        raise NotFound(f"no employee {employee_id}")
    try:
        current["roles"] = sorted(parse_roles(roles))
    except InvalidRole as exc:
        _refuse("roles", str(exc))
    return _store(session, "employee", _load("employee", current))


def upsert_schedule(session: Session, data: dict) -> bool:
    """Create or change a work schedule (weekly pattern and dated variants such as Ramadan)."""
    schedules.validate_schedule({k: v for k, v in data.items() if k != "active"})  # ValidationError: 422
    return _store(session, "schedule", _load("schedule", data))


# --- holidays: added by hand, or proposed from the national calendar and decided by the admin ------------------

def _holiday(session: Session, day: date):
    return session.execute(select(tables.holidays).where(tables.holidays.c.date == day)).first()


def _holiday_view(row) -> dict:
    return {"date": row.date.isoformat(), "name": row.name, "active": row.active, "confirmed": row.confirmed,
            "source": row.source}


def _write_holiday(session: Session, day: date, name: str, *, active: bool, confirmed: bool, decided: bool,
                   source: str) -> None:
    """Store a holiday's state; publish it when it is (or was) in force: a proposal is never published."""
    upsert_row(session, tables.holidays, {"date": day}, {
        "name": name, "active": active, "confirmed": confirmed, "decided": decided, "source": source,
        "updated_at": datetime.now(timezone.utc)})
    if confirmed:
        record = {"date": day, "name": name, "active": active}
        publish(session, make_event("directory.holiday.upserted", day.isoformat(),
                                    contract.HolidaySchema().dump(record), PRODUCER))


def upsert_holiday(session: Session, data: dict) -> bool:
    """Add or change a holiday by hand (national, cuti bersama or regional): in force at once. Over a proposal it
    is the admin's decision on that date, so a re-seed leaves it alone."""
    record = _load("holiday", data)
    current = _holiday(session, record["date"])
    if current is not None and current.confirmed and (current.name, current.active) == (record["name"],
                                                                                      record["active"]):
        return False
    _write_holiday(session, record["date"], record["name"], active=record["active"], confirmed=True, decided=True,
                   source=current.source if current is not None else calendar.HAND)
    return True


def list_holidays(session: Session, proposed: bool = False, year: int | None = None) -> list[dict]:
    """The holidays in force or once in force (default), or the proposals awaiting the admin, in date order."""
    h = tables.holidays.c
    query = select(tables.holidays).where(h.confirmed.is_(not proposed)).order_by(h.date)
    if proposed:
        query = query.where(h.active.is_(True))
    if year is not None:
        query = query.where(h.date >= date(year, 1, 1), h.date <= date(year, 12, 31))
    return [_holiday_view(row) for row in session.execute(query)]


def seed_holidays(session: Session, year: int) -> dict:
    """Propose the year's national holidays and cuti bersama from the calendar (domain/calendar.py); idempotent."""
    h = tables.holidays.c
    stored = {row.date: calendar.Stored(row.date, row.name, row.source, row.decided) for row in session.execute(
        select(tables.holidays).where(h.date >= date(year, 1, 1), h.date <= date(year, 12, 31)))}
    plan = calendar.plan_seed(calendar.national_holidays(year), stored)
    for proposal in plan.new + plan.renamed:
        _write_holiday(session, proposal.date, proposal.name, active=True, confirmed=False, decided=False,
                       source=proposal.source)
    if plan.withdrawn:
        session.execute(tables.holidays.delete().where(h.date.in_(plan.withdrawn)))
    return {"year": year, "proposed": len(plan.new), "renamed": len(plan.renamed),
            "withdrawn": len(plan.withdrawn), "kept": len(plan.kept),
            "holidays": list_holidays(session, proposed=True, year=year)}


def _decidable(session: Session, day: date):
    row = _holiday(session, day)
    if row is None or not row.active:
        raise NotFound(f"no holiday on {day.isoformat()}")
    return row


def confirm_holiday(session: Session, day: date) -> dict:
    """Put a proposed holiday in force as proposed (published); confirming one in force changes nothing."""
    row = _decidable(session, day)
    if not row.confirmed:
        _write_holiday(session, day, row.name, active=True, confirmed=True, decided=True, source=row.source)
    return _holiday_view(_holiday(session, day))


def adjust_holiday(session: Session, day: date, data: dict) -> dict:
    """Change a holiday's date or name and put it in force: the old date is removed (withdrawn from the calendar
    if it was in force), the new one keeps the source."""
    row = _decidable(session, day)
    target, name = data.get("date") or day, data.get("name") or row.name
    if target != day:
        taken = _holiday(session, target)
        if taken is not None and taken.active:
            _refuse("date", f"{target.isoformat()} already has a holiday: {taken.name}")
        _write_holiday(session, day, row.name, active=False, confirmed=row.confirmed, decided=True,
                       source=row.source)
    _write_holiday(session, target, name, active=True, confirmed=True, decided=True, source=row.source)
    return _holiday_view(_holiday(session, target))


def remove_holiday(session: Session, day: date) -> None:
    """Remove a holiday: a proposal is dropped unpublished, one in force is withdrawn (published inactive); either
    way the date stays decided, so a re-seed does not propose it again."""
    row = _decidable(session, day)
    _write_holiday(session, day, row.name, active=False, confirmed=row.confirmed, decided=True, source=row.source)


def upsert_geofence(session: Session, data: dict) -> bool:
    """Set (or, with active=false, retire) a place a unit's staff may check in from a phone."""
    record = _load("geofence", data)
    if get(session, "unit", record["unit_id"]) is None:
        _refuse("unit_id", f"unknown unit {record['unit_id']}")
    return _store(session, "geofence", record)


def upsert_enrolment(session: Session, data: dict) -> bool:
    """Enrol (or, with active=false, remove) an employee's PIN on a device."""
    record = _load("enrolment", data)
    employee = get(session, "employee", record["employee_id"])
    if employee is None:
        _refuse("employee_id", f"unknown employee {record['employee_id']}")
    record["name"] = record["name"] or employee["name"]
    return _store(session, "enrolment", record)


def import_roster(session: Session, text: str, imported_by: str, today: date) -> dict:
    """Import a personnel-system roster CSV: keep good rows, report each bad row; idempotent."""
    parsed = roster.parse_roster(text, today)
    errors = [{"line": e.line, "field": e.field, "reason": e.reason} for e in parsed.errors]
    unit_list, unit_errors = roster.units_from_rows(parsed.rows)
    position_list, position_errors = roster.positions_from_rows(parsed.rows)
    bad_lines = {e.line for e in unit_errors + position_errors}
    errors += [{"line": e.line, "field": e.field, "reason": e.reason} for e in unit_errors + position_errors]
    rows = [r for r in parsed.rows if r.line not in bad_lines]
    known = {r.employee_id for r in session.execute(select(tables.employees.c.employee_id))} | {r.nip for r in rows}
    kept = []
    for row in rows:
        missing = [(f, n) for f, n in (("supervisor_nip", row.supervisor_nip), ("acting_supervisor_nip", row.acting_supervisor_nip))
                   if n and n not in known]
        if row.schedule_id and not _exists(session, "schedule", row.schedule_id):
            missing.append(("schedule_id", row.schedule_id))
        if missing:
            errors += [{"line": row.line, "field": f, "reason": f"unknown {'schedule' if f == 'schedule_id' else 'employee'} {n}"}
                       for f, n in missing]
        else:
            kept.append(row)
    changes = 0
    by_unit = {r.unit_id: r for r in kept}
    for unit in unit_list:
        if unit.unit_id in by_unit:
            existing = get(session, "unit", unit.unit_id) or {}
            changes += _store(session, "unit", _load("unit", {
                "unit_id": unit.unit_id, "name": unit.name, "parent_unit_id": unit.parent_id,
                "head_employee_id": existing.get("head_employee_id")}))
    used_positions = {r.position_id for r in kept}
    for position in position_list:
        if position.position_id in used_positions:
            changes += _store(session, "position", _load("position", {
                "position_id": position.position_id, "name": position.name, "job_class": position.job_class,
                "kind": str(position.kind)}))
    # Employees first without supervisors, then with them, so rows may name supervisors further down the file.
    for row in kept:
        existing = get(session, "employee", row.nip)
        record = _load("employee", {
            "employee_id": row.nip, "name": row.name, "unit_id": row.unit_id, "position_id": row.position_id,
            "supervisor_id": row.supervisor_nip, "acting_supervisor_id": row.acting_supervisor_nip,
            "status": str(row.status), "zone": row.zone, "schedule_id": row.schedule_id,
            "roles": existing["roles"] if existing else ["staff"],
            "work_anywhere": bool(existing and existing["work_anywhere"])})
        changes += _store(session, "employee", record)
        enrolment = row.enrolment()
        if enrolment:
            changes += _store(session, "enrolment", _load("enrolment", {
                "device_serial": enrolment.device_serial, "pin": enrolment.pin, "employee_id": row.nip, "name": row.name}))
    supervision = org.validate_supervision(_org_employees(session))
    if supervision:
        raise Invalid("the roster would make supervision loop",  # nothing of the import is committed
                      [{"field": e.field, "message": f"{e.subject_id}: {e.reason}"} for e in supervision])
    report = {"import_id": str(uuid.uuid4()), "rows_total": len(parsed.rows) + len({e.line for e in parsed.errors}),
              "rows_accepted": len(kept), "rows_rejected": len({e["line"] for e in errors}), "changes": changes,
              "errors": sorted(errors, key=lambda e: (e["line"], e["field"]))}
    session.execute(tables.roster_imports.insert().values(
        imported_at=datetime.now(timezone.utc), imported_by=imported_by, **report))
    return report


def reports_of(session: Session, supervisor_id: str) -> list[dict]:
    """The employees whose approver is `supervisor_id` (direct reports, or via Plt)."""
    e = tables.employees.c
    rows = session.execute(select(tables.employees).where(or_(
        e.acting_supervisor_id == supervisor_id,
        and_(e.supervisor_id == supervisor_id, e.acting_supervisor_id.is_(None)))).order_by(e.employee_id))
    return [_public(ENTITIES["employee"], r) for r in rows]
