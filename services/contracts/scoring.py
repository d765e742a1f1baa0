"""Events of the scoring service: cross-check flags and monthly scores."""
from marshmallow import Schema, fields, validate

from contracts import topics

NIP = validate.Regexp(r"^\d{18}$")


class FlagEvidenceSchema(Schema):
    """What a flag points at."""

    day_version = fields.Integer(load_default=None, allow_none=True)
    punch_ids = fields.List(fields.String(), load_default=list)
    entry_ids = fields.List(fields.String(), load_default=list)


class FlagSchema(Schema):
    """A cross-check flag raised, or resolved (by later data or by a decision)."""

    flag_key = fields.String(required=True)
    kind = fields.String(required=True)
    employee_id = fields.String(required=True, validate=NIP)
    local_date = fields.Date(required=True)
    message = fields.String(required=True)
    evidence = fields.Nested(FlagEvidenceSchema, required=True)
    resolution = fields.String(load_default=None, allow_none=True)


class DayFactSchema(Schema):
    """One attendance day as payroll needs it for discipline deductions."""

    local_date = fields.Date(required=True)
    status = fields.String(required=True)
    late_band = fields.String(load_default=None, allow_none=True)
    early_band = fields.String(load_default=None, allow_none=True)
    absence_kind = fields.String(load_default=None, allow_none=True)


class MonthScoredSchema(Schema):
    """One employee's scored month, with the breakdown that produced it."""

    employee_id = fields.String(required=True, validate=NIP)
    unit_id = fields.String(required=True)
    year = fields.Integer(required=True)
    month = fields.Integer(required=True, validate=validate.Range(1, 12))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    activity_score = fields.Decimal(required=True, as_string=True)
    discipline_score = fields.Decimal(required=True, as_string=True)
    behaviour_level = fields.String(load_default=None, allow_none=True)
    behaviour_score = fields.Decimal(load_default=None, allow_none=True, as_string=True)
    target_score = fields.Decimal(load_default=None, allow_none=True, as_string=True)
    overtime_hours = fields.Decimal(load_default=None, allow_none=True, as_string=True)
    predicate = fields.String(required=True)
    effective_minutes = fields.Integer(required=True)
    credited_minutes = fields.Integer(required=True)
    days = fields.List(fields.Nested(DayFactSchema), required=True)
    breakdown = fields.Dict(required=True)


EVENTS = {
    "scoring.flag.raised": (topics.SCORING_FLAGS, FlagSchema),
    "scoring.flag.resolved": (topics.SCORING_FLAGS, FlagSchema),
    "scoring.month.scored": (topics.SCORING_MONTHS, MonthScoredSchema),
}
