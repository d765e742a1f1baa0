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
from attendance.domain import adms
from attendance.domain.presence import Fix
from attendance.handlers import checkins, days, devices, punches
from attendance.handlers.shared import today_of
from contracts.attendance import ABSENCE_KINDS
from contracts.directory import ZONES
from contracts.vocabulary import NIP
from runtime.auth import authenticate, require
from runtime.access import person, require_read
from runtime.errors import Forbidden, Invalid, Malformed, NotFound
from runtime.problems import field_errors
from runtime.ratelimit import answer_headers, hit_request
from runtime.uow import transactional
from runtime.web import date_arg, db, documented, load_json, service_context

adms_blueprint = Blueprint("adms", __name__)
api_blueprint = Blueprint("attendance", __name__)
MAX_API_PUNCHES = 1000
MAX_RANGE_DAYS = 366


def _now() -> datetime:
    return datetime.now(UTC)


def _config() -> AttendanceConfig:
    return service_context()


# --- ADMS ------------------------------------------------------------------------------------------------

def _plain(text: str, status: int = 200) -> Response:
    """A device reply: text/plain with a correct Date header (some devices set their clock from it)."""
    response = Response(text, status=status, mimetype="text/plain")
    response.headers["Date"] = format_datetime(_now(), usegmt=True)
    return response


def _serial() -> str | None:
    return request.args.get("SN") or request.args.get("sn")


def _device_call(work):
    """`work(session)`'s text as the device's reply: committed (the view is `@transactional`) before it is
    sent; a refused request gets `ERROR: <why>` with the refusal's status (and `Retry-After` when the device
    should just try again later), and nothing it sent is kept (only its contact, for a pending device's
    upload beyond its sample)."""
    session = db()
    try:
        return _plain(work(session))
    except devices.DeviceRefused as refusal:
        if not refusal.keep:
            session.rollback()
        devices.REFUSALS.labels(refusal.reason).inc()
        response = _plain(f"ERROR: {refusal}", refusal.status)
        if refusal.retry_after is not None:
            response.headers["Retry-After"] = str(refusal.retry_after)
        return response


class _TooLarge(Exception):
    """A device body over `max_device_body_bytes`: answered 413 before (or instead of) reading it."""


def _body() -> bytes:
    """The raw body, at most `max_device_body_bytes`: a larger declared length is refused before anything
    is read, an undeclared (chunked) one as soon as it passes the limit."""
    limit = _config().max_device_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge(limit)
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise _TooLarge(limit)
    return body


@adms_blueprint.errorhandler(_TooLarge)
def _too_large(error: _TooLarge):
    return _plain(f"ERROR: the body is larger than {error.args[0]} bytes", 413)


def _device_key() -> str:
    """What the per-device rate limit counts by: the serial (the caller's address when there is none)."""
    return f"device:{_serial() or request.remote_addr}"


@adms_blueprint.before_request
def _rate_limit():
    """Every device call counts against its serial's budget (`ATTENDANCE_DEVICE_RATE_LIMIT`, per process); over
    it, 429 `ERROR: ...` before the body is read (nothing kept): the firmware keeps its records and tries again
    after its ErrorDelay (`Retry-After` says when)."""
    limit = current_app.extensions["attendance_device_limit"]
    hit = hit_request(limit, _device_key())
    if hit.breached:
        devices.REFUSALS.labels("rate_limited").inc()
        return _plain(f"ERROR: too many requests from device {_serial()}: {hit.limit}, try again later", 429)
    return None


adms_blueprint.after_request(answer_headers)  # where the device stands against its limit, on every answer


# What a device sends in the query string of ADMS calls (its serial always; the rest per call).
ADMS_QUERY = {"SN": fields.String(required=True, metadata={"description": "the device serial"}),
              "options": "`all` on the handshake", "pushver": "the push protocol version",
              "pushcommkey": "the comm key some firmware sends on the handshake (checked when the device has one)",
              "type": "`time` for the server's time; the answer's kind on querydata",
              "table": "ATTLOG, OPERLOG, rtlog, tabledata, ATTPHOTO, options, ...", "tablename": "with table=tabledata",
              "Stamp": "the stamp of the last record sent"}


@transactional
@documented(query=ADMS_QUERY, produces="text/plain", refused=(400, 403, 429))
def cdata_get():
    """ADMS handshake (`options=all`): the option block with this device's stamps and time zone;
    `type=time`: the server's time (`Time=<ISO 8601 in the device's zone>`)."""
    if request.args.get("type") == "time":
        return _device_call(lambda session: devices.server_time(session, _serial(), request.remote_addr, _now(),
                                                                _config()))
    return _device_call(lambda session: devices.handshake(session, _serial(), request.remote_addr, _now(), _config(),
                                                          comm_key=request.args.get("pushcommkey")))


@transactional
@documented(query=ADMS_QUERY, body="text/plain", produces="text/plain", refused=(400, 403, 413, 429))
def cdata_post():
    """ADMS upload (`table=ATTLOG|OPERLOG|rtlog|tabledata&tablename=..|ATTPHOTO|options|...`): stored as it
    came, whatever the table, then the reply the protocol expects (`OK: <n>`, `user=<n>`, `OK`)."""
    body = _body()
    stamp = request.args.get("Stamp") or request.args.get("stamp") or request.args.get("OpStamp")
    return _device_call(lambda session: devices.receive_upload(
        session, _serial(), request.args.get("table", ""), stamp, body, request.remote_addr, _now(), _config(),
        tablename=request.args.get("tablename")).text)


@transactional
@documented(query=ADMS_QUERY, body="text/plain", produces="text/plain", refused=(400, 403, 413, 429))
def querydata():
    """Push 3.x answers to DATA QUERY / GET OPTION (`type=tabledata&cmdid=..&tablename=..&count=..`):
    stored as they came, the command marked answered, then `<tablename>=<n>`."""
    body = _body()
    args = request.args
    table = "options" if args.get("type") == "options" else args.get("tablename") or args.get("type") or ""

    def work(session):
        reply = devices.receive_upload(session, _serial(), args.get("type", ""), None, body, request.remote_addr,
                                       _now(), _config(), tablename=table, via="QUERYDATA")
        devices.record_query_result(session, _serial(), args.get("cmdid"), table, reply.accepted, _now())
        return reply.text
    return _device_call(work)


@transactional
@documented(query=ADMS_QUERY, produces="text/plain", refused=(400, 403, 429))
def rtdata():
    """Push 3.x time request (`type=time`): `DateTime=<encoded>,ServerTZ=<+hhmm>`; anything else `OK`."""
    if request.args.get("type") != "time":
        return ping()
    return _device_call(lambda session: devices.server_time(session, _serial(), request.remote_addr, _now(),
                                                            _config(), encoded=True))


@transactional
@documented(query=ADMS_QUERY, produces="text/plain", refused=(400, 403, 429))
def getrequest():
    """ADMS command poll (and heartbeat): `C:<id>:<command>` lines, or `OK`."""
    return _device_call(lambda session: devices.next_commands(session, _serial(), request.remote_addr, _now(),
                                                               _config()))


@transactional
@documented(query=ADMS_QUERY, body="text/plain", produces="text/plain", refused=(400, 403, 413, 429))
def devicecmd():
    """ADMS command results (`ID=..&Return=..&CMD=..` a line, or `ID=`, `Return=`, `CMD=` and the output on
    lines of their own): stored, each command's answer recorded, then `OK`."""
    body = _body()

    def work(session):
        devices.record_command_results(session, _serial(), body, request.remote_addr, _now(), _config())
        return "OK"
    return _device_call(work)


@transactional
@documented(query=ADMS_QUERY, body="text/plain", produces="text/plain", refused=(400, 403, 413, 429))
def registry():
    """Push 3.x registration: `RegistryCode=<code>`."""
    body = _body()
    return _device_call(lambda session: "RegistryCode=" + devices.register(
        session, _serial(), body, request.remote_addr, _now(), _config()))


@transactional
@documented(query=ADMS_QUERY, produces="text/plain", refused=(400, 403, 429))
def push():
    """Push 3.x configuration for the device (a body it posts is stored as it came)."""
    body = _body()

    def work(session):
        devices.touch_device(session, _serial(), request.remote_addr, _now(), _config(),
                             upload=devices.kept("PUSH", body) if body else None)
        return devices.push_config(_serial())
    return _device_call(work)


@transactional
@documented(query=ADMS_QUERY, produces="text/plain", refused=(400, 403, 429))
def ping():
    """Push 3.x keep-alive: `OK`."""
    def work(session):
        devices.touch_device(session, _serial(), request.remote_addr, _now(), _config())
        return "OK"
    return _device_call(work)


for _path, _view, _methods in (
        ("cdata", cdata_get, ["GET"]), ("cdata", cdata_post, ["POST"]), ("getrequest", getrequest, ["GET"]),
        ("devicecmd", devicecmd, ["POST"]), ("registry", registry, ["POST"]), ("push", push, ["GET", "POST"]),
        ("ping", ping, ["GET"]), ("querydata", querydata, ["POST"]), ("rtdata", rtdata, ["GET"])):
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


class DeviceBoundsSchema(Schema):
    """What a device may do beyond its serial: the source networks it may call from (a CIDR list; empty or
    null: anywhere) and the comm key (`pushcommkey`) its firmware sends on the handshake (null: none).
    Only the fields given change; the comm key is never shown back, only `comm_key_set`."""

    allowed_networks = fields.List(fields.String(validate=validate.Length(1, 64)), allow_none=True,
                                   validate=validate.Length(max=64))
    comm_key = fields.String(allow_none=True, validate=validate.Length(1, 128))


class PreRegisterSchema(Schema):
    """A device an admin knows of before it ever calls: its serial, the zone its clock runs in, where it hangs."""

    device_serial = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    zone = fields.String(required=True, validate=validate.OneOf(ZONES))
    location = fields.String(required=True, validate=validate.Length(3, 200))


@api_blueprint.post("/punches")
@require("admin", "ops")
@documented(PunchBatchSchema)
@transactional
def post_punches():
    """Upload punches (batch): 200 with `accepted` (new or duplicate) and `rejected` (per-item field errors)."""
    batch = load_json(PunchBatchSchema())
    items, refused = [], []
    for index, raw in enumerate(batch["punches"]):
        try:
            items.append((index, PunchItemSchema().load(raw)))
        except ValidationError as exc:
            refused.append({"index": index, "errors": field_errors(exc.messages)})
    result = punches.record_api_punches(db(), [item for _, item in items], _now(), _config())
    positions = [index for index, _ in items]
    accepted = [dict(entry, index=positions[entry["index"]]) for entry in result["accepted"]]
    rejected = refused + [dict(entry, index=positions[entry["index"]]) for entry in result["rejected"]]
    return {"accepted": accepted, "rejected": sorted(rejected, key=lambda e: e["index"])}, 200


RANGE_QUERY = {"employee_id": "default: the caller",
               "from": fields.Date(metadata={"description": f"default: 30 days before `to`, at most {MAX_RANGE_DAYS} days"}),
               "to": fields.Date(metadata={"description": "default: today in the employee's zone"})}


def _range(employee_id: str) -> tuple[date, date]:
    end = date_arg("to") or today_of(db(), employee_id, _now(), _config())
    start = date_arg("from") or end - timedelta(days=30)
    if start > end or (end - start).days > MAX_RANGE_DAYS:
        raise Invalid(f"from must be on or before to, at most {MAX_RANGE_DAYS} days apart", field="from",
                      message="invalid range")
    return start, end


def _readable_employee() -> str:
    """The `employee_id` asked for (default: the caller), if the caller may see that employee."""
    employee_id = request.args.get("employee_id") or authenticate().subject
    require_read(db(), authenticate(), employee_id)
    return employee_id


@api_blueprint.get("/punches")
@require()
@documented(query=RANGE_QUERY, problems=(400,))
def get_punches():
    """An employee's punches (`employee_id`, `from`, `to`): own, a report's, or anyone's for admin/ops."""
    employee_id = _readable_employee()
    start, end = _range(employee_id)
    return {"employee_id": employee_id, "punches": punches.list_punches(db(), employee_id, start, end)}


@api_blueprint.get("/days")
@require()
@documented(query=RANGE_QUERY, problems=(400,))
def get_days():
    """An employee's attendance days (`employee_id`, `from`, `to`), each with its version."""
    employee_id = _readable_employee()
    start, end = _range(employee_id)
    return {"employee_id": employee_id, "days": days.list_days(db(), employee_id, start, end)}


@api_blueprint.post("/days/build")
@require("admin", "ops")
@documented(BuildDaysSchema)
@transactional
def post_build_days():
    """Build a local date for every active employee (absent, leave, holiday or off when nobody punched)."""
    data = load_json(BuildDaysSchema())
    if data["date"] > date.today() + timedelta(days=1):
        raise Invalid("a day cannot be built before it happens", field="date", message="must not be in the future")
    report = days.build_days_for_date(db(), data["date"], _config(), data["employee_ids"])
    return report, 200


@api_blueprint.post("/absences")
@require()
@transactional
@documented(AbsenceSchema, status=201)
def post_absence():
    """Record leave, sick leave, duty (with the assignment letter) or permission: admin or the supervisor."""
    data = load_json(AbsenceSchema())
    principal = authenticate()
    session = db()
    employee = person(session, data["employee_id"])
    if not (principal.has("admin") or employee is not None and employee.approver_id == principal.subject):
        raise Forbidden("only an admin or the employee's supervisor records absences")
    absence = days.record_absence(session, data, principal.subject, _now(), _config())
    return absence, 201


@api_blueprint.get("/absences")
@require()
@documented(query=RANGE_QUERY, problems=(400,))
def get_absences():
    """An employee's absences (`employee_id`, `from`, `to`)."""
    employee_id = _readable_employee()
    start, end = _range(employee_id)
    return {"employee_id": employee_id, "absences": days.list_absences(db(), employee_id, start, end)}


@api_blueprint.get("/devices")
@require("admin", "ops")
@documented(query={"state": "pending, approved or disabled"})
def get_devices():
    """Devices with their state, zone, last contact and `silent` (not heard from during working hours)."""
    return {"devices": devices.list_devices(db(), _now(), _config(), request.args.get("state"))}


@api_blueprint.post("/devices")
@require("admin")
@documented(PreRegisterSchema, status=201)
@transactional
def pre_register_device():
    """Pre-register a device that has not called yet (serial, zone, location): 201, approved from its first call."""
    data = load_json(PreRegisterSchema())
    return devices.pre_register(db(), data["device_serial"], data["zone"], data["location"],
                                authenticate().subject, _now(), _config()), 201


@api_blueprint.post("/devices/<serial>/approve")
@require("admin")
@documented(ApproveDeviceSchema)
@transactional
def approve_device(serial):
    """Approve a device that has called (optionally setting its zone); the uploads it sent while pending are
    processed. A serial never seen is 404: pre-register it with `POST /devices`."""
    data = ApproveDeviceSchema().load(request.get_json(silent=True) or {})
    return devices.approve_device(db(), serial, data["zone"], authenticate().subject, _now(), _config()), 200


@api_blueprint.patch("/devices/<serial>")
@require("admin")
@documented(DeviceBoundsSchema)
@transactional
def patch_device(serial):
    """Set the device's `allowed_networks` and `comm_key`: a call from elsewhere, or a handshake without the
    key, is refused (403) and logged."""
    return devices.set_bounds(db(), serial, load_json(DeviceBoundsSchema()), _now(), _config()), 200


@api_blueprint.post("/devices/<serial>/disable")
@require("admin")
@transactional
def disable_device(serial):
    """Disable a device: its later contacts are refused."""
    return devices.disable_device(db(), serial, _now(), _config()), 200


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


class CommandSchema(Schema):
    """An operator's command for a device, with the parameters its kind takes."""

    command = fields.String(required=True, validate=validate.OneOf(adms.COMMAND_KINDS))
    since = fields.NaiveDateTime(load_default=None)
    until = fields.NaiveDateTime(load_default=None)
    name = fields.String(load_default=None)
    value = fields.String(load_default=None)
    names = fields.List(fields.String(), load_default=None)
    table = fields.String(load_default=None)
    pin = fields.String(load_default=None)
    finger = fields.Integer(load_default=0)


class ReconcileSchema(Schema):
    """The one action of a reconciliation, on every listed user or only on `pins`."""

    action = fields.String(required=True, validate=validate.OneOf(["push", "remove"]))
    pins = fields.List(fields.String(), load_default=None)


@api_blueprint.post("/devices/<serial>/commands")
@require("admin")
@documented(CommandSchema, status=201)
@transactional
def post_command(serial):
    """Queue a command (INFO, CHECK, LOG from a date, CLEAR_LOG, REBOOT, SET_OPTION, GET_OPTION, DATA_QUERY,
    ENROLL) for the device's next poll: 201 with the command; its answer appears in its `result`."""
    data = load_json(CommandSchema())
    return devices.request_command(db(), serial, data.pop("command"), data, authenticate().subject, _now()), 201


@api_blueprint.get("/devices/<serial>/reconciliation")
@require("admin", "ops")
def get_reconciliation(serial):
    """Users on the machine not enrolled here, and enrolled employees missing from the machine."""
    return devices.reconciliation(db(), serial)


@api_blueprint.post("/devices/<serial>/reconcile")
@require("admin")
@documented(ReconcileSchema, status=201)
@transactional
def post_reconcile(serial):
    """`push` the enrolled employees missing from the machine, or `remove` its users nobody enrolled."""
    data = load_json(ReconcileSchema())
    return devices.reconcile(db(), serial, data["action"], data["pins"], authenticate().subject, _now()), 201


# --- check-ins from a phone -------------------------------------------------------------------------------

class CheckInSchema(Schema):
    """The form a phone posts (multipart, with the `photo` file): the browser's position fix and its clock."""

    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(required=True, validate=validate.Range(0, 100_000))
    device_time = fields.AwareDateTime(load_default=None, metadata={"description": "the phone's clock, ISO 8601 "
                                                                                   "with offset (evidence only)"})


class ReviewSchema(Schema):
    """A supervisor's review of a check-in."""

    verdict = fields.String(required=True, validate=validate.OneOf(checkins.VERDICTS))
    reason = fields.String(load_default=None, validate=validate.Length(max=1000))


@api_blueprint.post("/checkins")
@require()
@transactional
@documented(CheckInSchema, body="multipart/form-data", status=201, problems=(409,))
def post_checkin():
    """Check in from a phone where no fingerprint machine reaches: at the server's time, with the position fix
    and a photo taken at that moment. A doubtful check-in is kept, marked and sent to the supervisor."""
    if request.mimetype != "multipart/form-data":
        raise Malformed("send the check-in as multipart/form-data with the photo file")
    data = CheckInSchema().load(request.form.to_dict())
    upload = request.files.get("photo")
    photo = upload.read() if upload is not None else b""
    fix = Fix(data["latitude"], data["longitude"], data["accuracy_m"])
    return checkins.record_checkin(db(), authenticate().subject, fix, data["device_time"], photo, _now(),
                                   _config()), 201


@api_blueprint.get("/checkins")
@require()
@documented(query=RANGE_QUERY, problems=(400,))
def get_checkins():
    """An employee's check-ins with everything kept about them (`employee_id`, `from`, `to`): own, a report's,
    their unit's for a verifier, anyone's for admin/ops."""
    employee_id = _readable_employee()
    start, end = _range(employee_id)
    return {"employee_id": employee_id, "checkins": checkins.list_checkins(db(), employee_id, start, end, _now())}


@api_blueprint.get("/checkins/review")
@require("supervisor")
@documented()
def get_checkins_to_review():
    """The doubtful check-ins of the caller's reports, awaiting their review."""
    return {"checkins": checkins.pending_reviews(db(), authenticate().subject)}


@api_blueprint.post("/checkins/<punch_id>/review")
@require("supervisor")
@transactional
@documented(ReviewSchema, problems=(409,))
def post_checkin_review(punch_id):
    """Confirm a report's check-in, or reject it with a reason (its punch then no longer counts)."""
    data = load_json(ReviewSchema())
    return checkins.review_checkin(db(), authenticate(), punch_id, data["verdict"], data["reason"], _now(),
                                   _config())


@api_blueprint.get("/checkins/<punch_id>/photo")
@require()
@documented(produces="image/jpeg")
def get_checkin_photo(punch_id):
    """The photo taken at a check-in: for the employee and whoever may read their records."""
    photo, kind = checkins.checkin_photo(db(), authenticate(), punch_id)
    return Response(photo, mimetype=kind)


@api_blueprint.get("/punches/<int:punch_id>/photo")
@require()
def get_punch_photo(punch_id):
    """The photo the device took at a punch (its evidence): for the employee, their supervisor, admin/ops."""
    found = punches.punch_photo(db(), punch_id)
    if found is None:
        raise NotFound(f"no photo for punch {punch_id}")
    require_read(db(), authenticate(), found.employee_id)
    return Response(found.photo, mimetype="image/jpeg")
