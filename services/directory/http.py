"""The directory's REST API: requests in, handler calls, responses out."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, request
from marshmallow import Schema, fields, validate

from contracts import directory as contract
from directory import handlers
from runtime.access import verified_units
from runtime.auth import authenticate, require
from runtime.errors import Forbidden, Invalid, Malformed, NotFound
from runtime.uow import transactional
from runtime.web import db, documented, load_args, load_json, uploaded_text

blueprint = Blueprint("directory", __name__)
READ_ALL = ("admin", "ops", "finance")  # a verifier reads the people of their assigned units


def _today() -> date:
    return date.today()


def _save(kind: str, key: dict, upsert, *extra):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Malformed("the body must be a JSON object")
    for name, value in key.items():
        if name in body and str(body[name]) != value:
            raise Invalid(f"{name} in the body differs from the URL", field=name, message="differs from the URL")
    session = db()
    changed = upsert(session, {**body, **key}, *extra)
    return {"changed": changed, kind: handlers.get(session, kind, *key.values())}, 200


def _found(record, what: str):
    if record is None:
        raise NotFound(f"no {what}")
    return record


@blueprint.get("/me")
@require()
def me():
    """The caller's own directory record and roles."""
    principal = authenticate()
    return {"employee_id": principal.subject, "roles": sorted(principal.roles),
            "employee": handlers.get(db(), "employee", principal.subject)}


@blueprint.get("/units")
@require()
@documented(query={"parent_unit_id": "only the units directly under this one"})
def list_units():
    """All organisation units (SKPD/OPD)."""
    return {"units": handlers.list_records(db(), "unit", parent_unit_id=request.args.get("parent_unit_id"))}


@blueprint.get("/units/<unit_id>")
@require()
def get_unit(unit_id):
    """One organisation unit."""
    return _found(handlers.get(db(), "unit", unit_id), f"unit {unit_id}")


@blueprint.put("/units/<unit_id>")
@transactional
@require("admin")
@documented(contract.UnitSchema)
def put_unit(unit_id):
    """Create or change an organisation unit."""
    return _save("unit", {"unit_id": unit_id}, handlers.upsert_unit)


@blueprint.get("/positions")
@require()
def list_positions():
    """All positions with their job classes."""
    return {"positions": handlers.list_records(db(), "position")}


@blueprint.put("/positions/<position_id>")
@transactional
@require("admin")
@documented(contract.PositionSchema)
def put_position(position_id):
    """Create or change a position."""
    return _save("position", {"position_id": position_id}, handlers.upsert_position)


@blueprint.get("/employees")
@require()
@documented(query={"unit_id": "only this unit's employees (admin, ops, verifier, finance)"})
def list_employees():
    """Employees the caller may see: everyone for admin/ops/finance, their units' people for a verifier (`unit_id`
    narrows both), reports for a supervisor, else self."""
    principal = authenticate()
    session = db()
    if principal.has(*READ_ALL):
        return {"employees": handlers.list_records(session, "employee", unit_id=request.args.get("unit_id"))}
    if principal.has("verifier"):
        units = verified_units(session, principal.subject)
        wanted = request.args.get("unit_id")
        return {"employees": [e for e in handlers.list_records(session, "employee", unit_id=wanted)
                              if e["unit_id"] in units or e["employee_id"] == principal.subject]}
    if principal.has("supervisor"):
        return {"employees": handlers.reports_of(session, principal.subject)}
    own = handlers.get(session, "employee", principal.subject)
    return {"employees": [own] if own else []}


@blueprint.get("/employees/<employee_id>")
@require()
def get_employee(employee_id):
    """One employee: self, their supervisors, a verifier of their unit, or admin/ops/finance."""
    principal = authenticate()
    session = db()
    record = _found(handlers.get(session, "employee", employee_id), f"employee {employee_id}")
    allowed = (principal.subject == employee_id or principal.has(*READ_ALL)
               or principal.subject in (record["supervisor_id"], record["acting_supervisor_id"])
               or (principal.has("verifier") and record["unit_id"] in verified_units(session, principal.subject)))
    if not allowed:
        raise Forbidden("you may see only yourself and your reports")
    return record


@blueprint.put("/employees/<employee_id>")
@transactional
@require("admin")
@documented(contract.EmployeeSchema)
def put_employee(employee_id):
    """Create or change an employee (NIP validated)."""
    return _save("employee", {"employee_id": employee_id}, handlers.upsert_employee, _today())


@blueprint.put("/employees/<employee_id>/roles")
@transactional
@require("admin")
@documented({"roles": fields.List(fields.String(), required=True)})
def put_roles(employee_id):
    """Set an employee's roles (users and roles)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("roles"), list):
        raise Invalid("roles must be a list", field="roles", message="a list")
    session = db()
    changed = handlers.set_roles(session, employee_id, body["roles"])
    return {"changed": changed, "employee": handlers.get(session, "employee", employee_id)}


@blueprint.get("/schedules")
@require()
def list_schedules():
    """All work schedules."""
    return {"schedules": handlers.list_records(db(), "schedule")}


@blueprint.put("/schedules/<schedule_id>")
@transactional
@require("admin")
@documented(contract.ScheduleSchema)
def put_schedule(schedule_id):
    """Create or change a work schedule."""
    return _save("schedule", {"schedule_id": schedule_id}, handlers.upsert_schedule)


class _HolidaysQuery(Schema):
    status = fields.String(load_default="confirmed", validate=validate.OneOf(("confirmed", "proposed")),
                           metadata={"description": "confirmed (the calendar in force, default) or proposed "
                                                    "(seeded from the national calendar, awaiting the admin)"})
    year = fields.Integer(load_default=None, validate=validate.Range(2000, 2100))


class _SeedBody(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(2000, 2100))


class _AdjustBody(Schema):
    date = fields.Date(load_default=None)
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=300))


def _holiday_date(day: str) -> date:
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise Invalid(f"{day} is not a date", field="date", message="use YYYY-MM-DD") from None


@blueprint.get("/holidays")
@require()
@documented(query=_HolidaysQuery)
def list_holidays():
    """The holiday calendar in force (with `confirmed` and `source`); `status=proposed`: the proposals (admin, ops)."""
    args = load_args(_HolidaysQuery())
    proposed = args["status"] == "proposed"
    if proposed and not authenticate().has("admin", "ops"):
        raise Forbidden("only an admin or ops reads the proposed holidays")
    return {"holidays": handlers.list_holidays(db(), proposed=proposed, year=args["year"])}


@blueprint.post("/holidays/seed")
@transactional
@require("admin")
@documented(_SeedBody)
def seed_holidays():
    """Propose a year's national holidays and cuti bersama from the calendar (`holidays` package), for the admin to
    confirm, adjust or remove; a re-seed leaves every decided date alone."""
    return handlers.seed_holidays(db(), load_json(_SeedBody())["year"])


@blueprint.post("/holidays/<day>/confirm")
@transactional
@require("admin")
@documented(problems=(422,))
def confirm_holiday(day):
    """Put a proposed holiday in force as proposed."""
    return {"holiday": handlers.confirm_holiday(db(), _holiday_date(day))}


@blueprint.patch("/holidays/<day>")
@transactional
@require("admin")
@documented(_AdjustBody, problems=(409,))
def adjust_holiday(day):
    """Change a holiday's date or name, and put it in force."""
    return {"holiday": handlers.adjust_holiday(db(), _holiday_date(day), load_json(_AdjustBody()))}


@blueprint.delete("/holidays/<day>")
@transactional
@require("admin")
@documented(status=204, problems=(422,))
def remove_holiday(day):
    """Remove a holiday: a proposal is dropped, one in force withdrawn; a re-seed does not bring it back."""
    handlers.remove_holiday(db(), _holiday_date(day))
    return "", 204


@blueprint.put("/holidays/<day>")
@transactional
@require("admin")
@documented(contract.HolidaySchema)
def put_holiday(day):
    """Add or change a holiday."""
    return _save("holiday", {"date": day}, handlers.upsert_holiday)


@blueprint.get("/enrolments")
@require("admin", "ops")
@documented(query={"device_serial": "only this device's enrolments"})
def list_enrolments():
    """Device enrolments (device serial + PIN -> employee)."""
    return {"enrolments": handlers.list_records(db(), "enrolment", device_serial=request.args.get("device_serial"))}


@blueprint.put("/enrolments/<device_serial>/<pin>")
@transactional
@require("admin")
@documented(contract.EnrolmentSchema)
def put_enrolment(device_serial, pin):
    """Enrol an employee's PIN on a device (active=false removes it)."""
    return _save("enrolment", {"device_serial": device_serial, "pin": pin}, handlers.upsert_enrolment)


@blueprint.get("/geofences")
@require()
@documented(query={"unit_id": "only this unit's geofences"})
def list_geofences():
    """Where staff may check in from a phone: each unit's circles and work-site outlines (not secret: the
    check-in page shows them)."""
    return {"geofences": handlers.list_records(db(), "geofence", unit_id=request.args.get("unit_id"))}


@blueprint.put("/geofences/<fence_id>")
@transactional
@require("admin")
@documented(contract.GeofenceSchema)
def put_geofence(fence_id):
    """Set a unit's geofence: a circle (latitude, longitude, radius_m) or a polygon (vertices); active=false
    retires it."""
    return _save("geofence", {"fence_id": fence_id}, handlers.upsert_geofence)


@blueprint.post("/roster/imports")
@transactional
@require("admin")
@documented(body=("text/csv", "multipart/form-data"))
def import_roster():
    """Import a roster CSV (raw text/csv body or a multipart `file`): good rows kept, bad rows reported."""
    return handlers.import_roster(db(), uploaded_text(), authenticate().subject, _today()), 200
