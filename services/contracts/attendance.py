"""Events of the attendance service: punches, attendance days (versioned), devices."""
from marshmallow import Schema, fields, validate

from contracts import topics
from contracts.vocabulary import NIP

DAY_STATUSES = ["present", "late", "absent", "leave", "sick", "duty", "permission", "holiday", "off"]
ABSENCE_KINDS = ["leave", "sick", "duty", "permission"]


class PunchRecordedSchema(Schema):
    """A clock event matched to an employee (unmatched punches wait for their enrolment, unpublished)."""

    punch_id = fields.String(required=True)
    employee_id = fields.String(required=True, validate=NIP)
    device_serial = fields.String(load_default=None, allow_none=True)
    pin = fields.String(load_default=None, allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(["adms", "api", "mobile"]))
    at = fields.AwareDateTime(required=True)
    local_time = fields.NaiveDateTime(required=True)
    zone = fields.String(required=True)
    local_date = fields.Date(required=True)
    device_status = fields.Integer(load_default=None, allow_none=True)
    verify = fields.Integer(load_default=None, allow_none=True)


class DoubtfulPunchSchema(Schema):
    """A check-in from a phone on the day that awaits the supervisor's review, with the kinds of its doubts
    (the evidence itself, location included, stays in the attendance service)."""

    punch_id = fields.String(required=True)
    doubts = fields.List(fields.String(), required=True)


class DayBuiltSchema(Schema):
    """An employee's attendance day; a rebuilt day is published again with a higher version."""

    employee_id = fields.String(required=True, validate=NIP)
    local_date = fields.Date(required=True)
    zone = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    status = fields.String(required=True, validate=validate.OneOf(DAY_STATUSES))
    scheduled_start = fields.AwareDateTime(load_default=None, allow_none=True)
    scheduled_end = fields.AwareDateTime(load_default=None, allow_none=True)
    scheduled_minutes = fields.Integer(required=True)
    clock_in = fields.AwareDateTime(load_default=None, allow_none=True)
    clock_out = fields.AwareDateTime(load_default=None, allow_none=True)
    presence_minutes = fields.Integer(required=True)
    late_minutes = fields.Integer(required=True)
    early_leave_minutes = fields.Integer(required=True)
    overtime_minutes = fields.Integer(required=True)
    late_band = fields.String(load_default=None, allow_none=True)
    early_band = fields.String(load_default=None, allow_none=True)
    missing_clock_in = fields.Boolean(required=True)
    missing_clock_out = fields.Boolean(required=True)
    punch_ids = fields.List(fields.String(), required=True)
    absence_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ABSENCE_KINDS))
    absence_reference = fields.String(load_default=None, allow_none=True)
    correction = fields.Boolean(load_default=False)  # the day's month was already closed for payroll
    # the day's check-ins from a phone awaiting review (left out when there are none)
    doubtful_punches = fields.List(fields.Nested(DoubtfulPunchSchema), load_default=list)


class DeviceSchema(Schema):
    """A fingerprint device: seen for the first time (pending approval) or approved by an admin."""

    device_serial = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["pending", "approved", "disabled"]))
    zone = fields.String(load_default=None, allow_none=True)
    last_seen_at = fields.AwareDateTime(load_default=None, allow_none=True)
    remote_addr = fields.String(load_default=None, allow_none=True)


EVENTS = {
    "attendance.punch.recorded": (topics.ATTENDANCE_PUNCHES, PunchRecordedSchema),
    "attendance.day.built": (topics.ATTENDANCE_DAYS, DayBuiltSchema),
    "attendance.device.seen": (topics.ATTENDANCE_DEVICES, DeviceSchema),
    "attendance.device.approved": (topics.ATTENDANCE_DEVICES, DeviceSchema),
}
