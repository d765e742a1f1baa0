"""The attendance service's HTTP entrypoints: the ADMS (iclock) push protocol and the JSON API.

Device-facing routes use no JWT: a device is known by its serial number, an unknown one is recorded as
pending, a disabled one refused. Bodies are read raw (`request.get_data()`), never as a form.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

from flask import Blueprint, Response, current_app, request
from marshmallow import Schema, ValidationError, fields, validate

from attendance.config import AttendanceConfig
from attendance.handlers import days, devices, punches
from contracts.attendance import ABSENCE_KINDS
from contracts.directory import ZONES
from runtime.auth import authenticate, require
from runtime.problems import Problem, field_errors
from runtime.web import date_arg, db, documented, load_json

adms_blueprint = Blueprint("adms", __name__)
api_blueprint = Blueprint("attendance", __name__)
NIP = validate.Regexp(r"^\d{18}$", error="must be an 18-digit NIP")
MAX_API_PUNCHES = 1000
MAX_RANGE_DAYS = 366


def _now() -> datetime:
    return datetime.now(UTC)


def _config() -> AttendanceConfig:
    return current_app.config["ATTENDANCE"]


# --- ADMS ------------------------------------------------------------------------------------------------

def _plain(text: str, status: int = 200) -> Response:
    """A device reply: text/plain with a correct Date header (some devices set their clock from it)."""
    response = Response(text, status=status, mimetype="text/plain")
    response.headers["Date"] = format_datetime(_now(), usegmt=True)
    return response


def _serial() -> str | None:
    return request.args.get("SN") or request.args.get("sn")


def _device_call(work):
    """Run `work(session)` in one transaction and reply its text only after the commit."""
    session = db()
    try:
        text = work(session)
        session.commit()
    except devices.DeviceRefused as refusal:
        session.rollback()
        return _plain(f"ERROR: {refusal}", 403 if "disabled" in str(refusal) else 400)
    return _plain(text)


def cdata_get():
    """ADMS handshake (`options=all`): the option block with this device's stamps and time zone."""
    return _device_call(lambda session: devices.handshake(session, _serial(), request.remote_addr, _now(), _config()))


def cdata_post():
    """ADMS upload (`table=ATTLOG|OPERLOG|options|ATTPHOTO`): stored durably, then `OK: <n>`."""
    body = request.get_data(cache=False, parse_form_data=False)
    table = request.args.get("table", "")
    stamp = request.args.get("Stamp") or request.args.get("stamp") or request.args.get("OpStamp")
    return _device_call(lambda session: devices.receive_upload(
        session, _serial(), table, stamp, body, request.remote_addr, _now(), _config()).text)


def getrequest():
    """ADMS command poll (and heartbeat): `C:<id>:<command>` lines, or `OK`."""
    return _device_call(lambda session: devices.next_commands(session, _serial(), request.remote_addr, _now(),
                                                               _config()))


def devicecmd():
    """ADMS command results (`ID=..&Return=..&CMD=..` a line): `OK`."""
    body = request.get_data(cache=False, parse_form_data=False)

    def work(session):
        devices.record_command_results(session, _serial(), body, request.remote_addr, _now(), _config())
        return "OK"
    return _device_call(work)


def registry():
    """Push 3.x registration: `RegistryCode=<code>`."""
    body = request.get_data(cache=False, parse_form_data=False)
    return _device_call(lambda session: "RegistryCode=" + devices.register(
        session, _serial(), body, request.remote_addr, _now(), _config()))


def push():
    """Push 3.x configuration for the device."""
    def work(session):
        devices.touch_device(session, _serial(), request.remote_addr, _now(), _config())
        return devices.push_config(_serial())
    return _device_call(work)


def ping():
    """Push 3.x keep-alive: `OK`."""
    def work(session):
        devices.touch_device(session, _serial(), request.remote_addr, _now(), _config())
        return "OK"
    return _device_call(work)


for _path, _view, _methods in (
        ("cdata", cdata_get, ["GET"]), ("cdata", cdata_post, ["POST"]), ("getrequest", getrequest, ["GET"]),
        ("devicecmd", devicecmd, ["POST"]), ("registry", registry, ["POST"]), ("push", push, ["GET", "POST"]),
        ("ping", ping, ["GET"])):
    for _suffix in ("", ".aspx"):
        adms_blueprint.add_url_rule(f"/iclock/{_path}{_suffix}", f"{_view.__name__}{_suffix.replace('.', '_')}",
                                    _view, methods=_methods)


# --- JSON API --------------------------------------------------------------------------------------------

class PunchItemSchema(Schema):
    """One punch from a clock source that is not an ADMS machine."""

    employee_id = fields.String(load_default=None, allow_none=True, validate=NIP)
    device_serial = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    pin = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9A-Za-z]{1,24}$"))
    local_time = fields.NaiveDateTime(load_default=None, allow_none=True)
    at = fields.AwareDateTime(load_default=None, allow_none=True)
    source = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 40))


class PunchBatchSchema(Schema):
    """`{"punches": [...]}`, each item checked on its own."""

    punches = fields.List(fields.Dict(), required=True, validate=validate.Length(1, MAX_API_PUNCHES))


class AbsenceSchema(Schema):
    """Leave, sick leave, official duty (dinas luar, with its letter) or permission over local dates."""

    employee_id = fields.String(required=True, validate=NIP)
    kind = fields.String(required=True, validate=validate.OneOf(ABSENCE_KINDS))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class BuildDaysSchema(Schema):
    """The local date to build for every active employee (or only those listed)."""

    date = fields.Date(required=True)
    employee_ids = fields.List(fields.String(validate=NIP), load_default=None, allow_none=True)


class ApproveDeviceSchema(Schema):
    """The zone the device's clock runs in."""

    zone = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ZONES))


@api_blueprint.post("/punches")
@require("admin", "ops")
@documented(PunchBatchSchema)
def post_punches():
    """Upload punches (batch): 200 with `accepted` (new or duplicate) and `rejected` (per-item field errors)."""
    batch = load_json(PunchBatchSchema())
    items, refused = [], []
    for index, raw in enumerate(batch["punches"]):
        try:
            items.append((index, PunchItemSchema().load(raw)))
        except ValidationError as exc:
            refused.append({"index": index, "errors": field_errors(exc.messages)})
    session = db()
    result = punches.record_api_punches(session, [item for _, item in items], _now())
    session.commit()
    positions = [index for index, _ in items]
    accepted = [dict(entry, index=positions[entry["index"]]) for entry in result["accepted"]]
    rejected = refused + [dict(entry, index=positions[entry["index"]]) for entry in result["rejected"]]
    return {"accepted": accepted, "rejected": sorted(rejected, key=lambda e: e["index"])}, 200


def _range() -> tuple[date, date]:
    end = date_arg("to") or date.today()
    start = date_arg("from") or end - timedelta(days=30)
    if start > end or (end - start).days > MAX_RANGE_DAYS:
        raise Problem(400, "Malformed request", f"from must be on or before to, at most {MAX_RANGE_DAYS} days apart",
                      [{"field": "from", "message": "invalid range"}])
    return start, end


def _readable_employee() -> str:
    """The `employee_id` asked for (default: the caller), if the caller may see that employee."""
    principal = authenticate()
    employee_id = request.args.get("employee_id") or principal.subject
    _check_may_see(employee_id)
    return employee_id


def _check_may_see(employee_id: str) -> None:
    principal = authenticate()
    if principal.subject == employee_id or principal.has("admin", "ops"):
        return
    if principal.has("supervisor") and days.supervises(db(), principal.subject, employee_id):
        return
    raise Problem(403, "Forbidden", "you may see only yourself and your reports")


@api_blueprint.get("/punches")
@require()
def get_punches():
    """An employee's punches (`employee_id`, `from`, `to`): own, a report's, or anyone's for admin/ops."""
    employee_id = _readable_employee()
    start, end = _range()
    return {"employee_id": employee_id, "punches": punches.list_punches(db(), employee_id, start, end)}


@api_blueprint.get("/days")
@require()
def get_days():
    """An employee's attendance days (`employee_id`, `from`, `to`), each with its version."""
    employee_id = _readable_employee()
    start, end = _range()
    return {"employee_id": employee_id, "days": days.list_days(db(), employee_id, start, end)}


@api_blueprint.post("/days/build")
@require("admin", "ops")
@documented(BuildDaysSchema)
def post_build_days():
    """Build a local date for every active employee (absent, leave, holiday or off when nobody punched)."""
    data = load_json(BuildDaysSchema())
    if data["date"] > date.today() + timedelta(days=1):
        raise Problem(422, "Validation failed", "a day cannot be built before it happens",
                      [{"field": "date", "message": "must not be in the future"}])
    session = db()
    report = days.build_days_for_date(session, data["date"], _config(), data["employee_ids"])
    session.commit()
    return report, 200


@api_blueprint.post("/absences")
@require()
@documented(AbsenceSchema)
def post_absence():
    """Record leave, sick leave, duty (with the assignment letter) or permission: admin or the supervisor."""
    data = load_json(AbsenceSchema())
    principal = authenticate()
    session = db()
    if not (principal.has("admin") or days.supervises(session, principal.subject, data["employee_id"])):
        raise Problem(403, "Forbidden", "only an admin or the employee's supervisor records absences")
    absence = days.record_absence(session, data, principal.subject, _now(), _config())
    session.commit()
    return absence, 201


@api_blueprint.get("/absences")
@require()
def get_absences():
    """An employee's absences (`employee_id`, `from`, `to`)."""
    employee_id = _readable_employee()
    start, end = _range()
    return {"employee_id": employee_id, "absences": days.list_absences(db(), employee_id, start, end)}


@api_blueprint.get("/devices")
@require("admin", "ops")
def get_devices():
    """Devices with their state, zone, last contact and `silent` (not heard from during working hours)."""
    return {"devices": devices.list_devices(db(), _now(), _config(), request.args.get("state"))}


@api_blueprint.post("/devices/<serial>/approve")
@require("admin")
@documented(ApproveDeviceSchema)
def approve_device(serial):
    """Approve a device (optionally setting its zone); the uploads it sent while pending are processed."""
    data = ApproveDeviceSchema().load(request.get_json(silent=True) or {})
    session = db()
    try:
        device = devices.approve_device(session, serial, data["zone"], authenticate().subject, _now(), _config())
    except devices.DeviceRefused as refusal:
        raise Problem(422, "Validation failed", str(refusal), [{"field": "serial", "message": str(refusal)}]) from None
    session.commit()
    return device, 200


@api_blueprint.post("/devices/<serial>/disable")
@require("admin")
def disable_device(serial):
    """Disable a device: its later contacts are refused."""
    session = db()
    device = devices.disable_device(session, serial, _now(), _config())
    session.commit()
    return device, 200


@api_blueprint.get("/devices/<serial>/rejected")
@require("admin", "ops")
def get_rejected(serial):
    """Lines this device sent that were kept aside, with the reason."""
    return {"device_serial": serial, "rejected": devices.rejected_lines_of(db(), serial)}


@api_blueprint.get("/devices/<serial>/commands")
@require("admin", "ops")
def get_commands(serial):
    """This device's command queue (queued, sent, done, failed)."""
    return {"device_serial": serial, "commands": devices.commands_of(db(), serial)}


@api_blueprint.get("/devices/<serial>/users")
@require("admin", "ops")
def get_device_users(serial):
    """The users this device reported (OPERLOG `USER` lines)."""
    return {"device_serial": serial, "users": devices.device_users_of(db(), serial)}
