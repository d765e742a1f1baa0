"""Events of the directory: full current state of each entity, on compacted topics."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts import topics
from contracts.vocabulary import NIP

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


class UnitSchema(Schema):
    """An organisation unit (SKPD/OPD), possibly under a parent unit."""

    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1))
    parent_unit_id = fields.String(load_default=None, allow_none=True)
    head_employee_id = fields.String(load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)


class PositionSchema(Schema):
    """A position with its job class (kelas jabatan 1-17) and kind."""

    position_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True)
    job_class = fields.Integer(required=True, strict=True, validate=validate.Range(1, 17))
    kind = fields.String(required=True, validate=validate.OneOf(["structural", "functional", "executor"]))
    unit_id = fields.String(load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)


class EmployeeSchema(Schema):
    """An employee (ASN) identified by NIP, with unit, position, supervisors, status, zone and schedule."""

    employee_id = fields.String(required=True, validate=NIP)
    name = fields.String(required=True)
    unit_id = fields.String(required=True)
    position_id = fields.String(load_default=None, allow_none=True)
    supervisor_id = fields.String(load_default=None, allow_none=True)
    acting_supervisor_id = fields.String(load_default=None, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["PNS", "PPPK", "CPNS"]))
    zone = fields.String(required=True, validate=validate.OneOf(ZONES))
    schedule_id = fields.String(load_default=None, allow_none=True)
    roles = fields.List(fields.String(), load_default=list)
    active = fields.Boolean(load_default=True)
    # works where no fixed place is (a teacher in a remote school, an extension worker): a check-in from a
    # phone is never doubted for being outside the unit's areas; set by an admin, kept by a roster import
    work_anywhere = fields.Boolean(load_default=False)


class DayPatternSchema(Schema):
    """One weekday's working window; end <= start crosses midnight."""

    weekday = fields.Integer(required=True, strict=True, validate=validate.Range(0, 6))
    start = fields.String(required=True, validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    end = fields.String(required=True, validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    break_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(0, 600))


class VariantSchema(Schema):
    """A dated replacement of the weekly pattern (e.g. Ramadan)."""

    name = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    days = fields.List(fields.Nested(DayPatternSchema), required=True)


class ScheduleSchema(Schema):
    """A work schedule: weekly pattern plus dated variants."""

    schedule_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True)
    days = fields.List(fields.Nested(DayPatternSchema), required=True)
    variants = fields.List(fields.Nested(VariantSchema), load_default=list)
    active = fields.Boolean(load_default=True)


class HolidaySchema(Schema):
    """A national holiday or cuti bersama: no work expected."""

    date = fields.Date(required=True)
    name = fields.String(required=True)
    active = fields.Boolean(load_default=True)


class EnrolmentSchema(Schema):
    """A device enrolment: (device serial, PIN) identifies an employee's punches."""

    device_serial = fields.String(required=True, validate=validate.Length(min=1, max=64))
    pin = fields.String(required=True, validate=validate.Length(min=1, max=32))
    employee_id = fields.String(required=True, validate=NIP)
    name = fields.String(load_default="")
    active = fields.Boolean(load_default=True)


class GeofenceSchema(Schema):
    """Where a unit's staff may check in from a phone: a circle (centre and radius) or a work site's outline
    (a polygon of 3 to 200 vertices, each [latitude, longitude], not closed). Degrees are WGS 84."""

    fence_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    unit_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.String(required=True, validate=validate.OneOf(["circle", "polygon"]))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    radius_m = fields.Float(load_default=None, allow_none=True, validate=validate.Range(10, 50_000))
    vertices = fields.List(fields.List(fields.Float(), validate=validate.Length(equal=2)), load_default=None,
                           allow_none=True, validate=validate.Length(min=3, max=200))
    active = fields.Boolean(load_default=True)

    @validates_schema
    def _shape(self, data, **_kwargs):
        errors = {}
        if data.get("kind") == "circle":
            for name in ("latitude", "longitude", "radius_m"):
                if data.get(name) is None:
                    errors[name] = ["required for a circle"]
            if data.get("vertices") is not None:
                errors["vertices"] = ["only for a polygon"]
        elif data.get("kind") == "polygon":
            if data.get("vertices") is None:
                errors["vertices"] = ["required for a polygon"]
            else:
                for index, (lat, lon) in enumerate(data["vertices"]):
                    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                        errors.setdefault("vertices", {})[index] = ["[latitude, longitude] in degrees"]
            for name in ("latitude", "longitude", "radius_m"):
                if data.get(name) is not None:
                    errors[name] = ["only for a circle"]
        if errors:
            raise ValidationError(errors)


EVENTS = {
    "directory.unit.upserted": (topics.DIRECTORY_UNITS, UnitSchema),
    "directory.position.upserted": (topics.DIRECTORY_POSITIONS, PositionSchema),
    "directory.employee.upserted": (topics.DIRECTORY_EMPLOYEES, EmployeeSchema),
    "directory.schedule.upserted": (topics.DIRECTORY_SCHEDULES, ScheduleSchema),
    "directory.holiday.upserted": (topics.DIRECTORY_HOLIDAYS, HolidaySchema),
    "directory.enrolment.upserted": (topics.DIRECTORY_ENROLMENTS, EnrolmentSchema),
    "directory.geofence.upserted": (topics.DIRECTORY_GEOFENCES, GeofenceSchema),
}
