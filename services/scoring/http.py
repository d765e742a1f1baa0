"""Scoring's REST API: requests in, handler calls, responses out."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, request
from marshmallow import Schema, ValidationError, fields, validate, validates

from runtime.auth import authenticate, require
from contracts.vocabulary import NIP
from runtime.errors import Invalid, Malformed
from runtime.uow import transactional
from runtime.web import db, documented, load_args, load_json, period_arg, service_context
from scoring import handlers, targets
from scoring.domain.vocabulary import ALL_PREDICATES, BERAKHLAK_VALUES

blueprint = Blueprint("scoring", __name__)
POSTURE_COLUMNS = ("unit_id", "unit_name", "position_id", "position_name", "workload_minutes",
                   "effective_minutes_per_person", "staff_present", "staff_needed", "efficiency", "band")


class FlagQuerySchema(Schema):
    """Filters of GET /flags."""

    employee_id = fields.String(validate=NIP)
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    state = fields.String(validate=validate.OneOf([handlers.OPEN, handlers.CLEARED, handlers.RESOLVED]))
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 5000))


class ClearSchema(Schema):
    """Why the supervisor clears a flag."""

    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


# The seven BerAKHLAK values (whole numbers on the policy's scale) and whether there was an innovation.
BehaviourSchema = Schema.from_dict(
    {**{name: fields.Integer(required=True) for name in BERAKHLAK_VALUES},
     "has_innovation": fields.Boolean(load_default=False)}, name="BehaviourSchema")


class TargetSchema(Schema):
    """One monthly SKP target: an output and its quantity; optionally quality (percent), time (days), a weight,
    and a catalogue item whose creditable entries count toward the quantity."""

    output = fields.String(required=True, validate=validate.Length(min=1, max=300))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    output_unit = fields.String(required=True, validate=validate.Length(min=1, max=60))
    weight = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100))
    quality = fields.Decimal(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100))
    time_days = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=31))
    catalogue_item_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class TargetsSchema(Schema):
    """The month's targets (replacing any set before)."""

    targets = fields.List(fields.Nested(TargetSchema), required=True, validate=validate.Length(max=50))


class AssessmentSchema(Schema):
    """What was realised against one target (a quantity left out is counted from linked entries)."""

    target_id = fields.String(required=True)
    quantity = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0))
    quality = fields.Decimal(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    time_days = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=366))


class AssessmentsSchema(Schema):
    """The approver's assessment of the month's targets."""

    targets = fields.List(fields.Nested(AssessmentSchema), required=True, validate=validate.Length(min=1, max=50))


class UnitRatingSchema(Schema):
    """A unit's own predicate for the year."""

    rating = fields.String(required=True, validate=validate.OneOf(ALL_PREDICATES))


class PostureQuerySchema(Schema):
    """The period of the posture table: a year and its months (`1-12`, `1-6` or `1,2,3`; all by default)."""

    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    months = fields.String(load_default="1-12")

    @validates("months")
    def _months(self, value, **_):
        if _parse_months(value) is None:
            raise ValidationError("months 1-12 as a range (1-6) or a list (1,2,3)")


class PublicQuerySchema(Schema):
    """The month of the public aggregates."""

    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    month = fields.Integer(required=True, validate=validate.Range(1, 12))


def _parse_months(value: str) -> list[int] | None:
    try:
        if "-" in value:
            low, high = (int(part) for part in value.split("-", 1))
            months = list(range(low, high + 1))
        else:
            months = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        return None
    return months if months and all(1 <= m <= 12 for m in months) else None


def _policy():
    return service_context().policy


@blueprint.get("/flags")
@require()
@documented(query=FlagQuerySchema)
def list_flags():
    """Cross-check flags: staff their own, supervisors their reports', verifiers their units', admin/ops everyone's."""
    args = load_args(FlagQuerySchema())
    return {"flags": handlers.list_flags(db(), authenticate(), args.get("employee_id"), args.get("start"),
                                         args.get("end"), args.get("state"), args["limit"])}


@blueprint.post("/flags/<path:flag_key>/clear")
@transactional
@require("supervisor")
@documented(ClearSchema, problems=(409,))
def clear_flag(flag_key):
    """Resolve an open flag by the employee's approver's decision, with a reason (it then holds nothing back)."""
    body = load_json(ClearSchema())
    return handlers.clear_flag(db(), authenticate(), flag_key, body["reason"], _policy())


@blueprint.put("/behaviour/<employee_id>/<period>")
@transactional
@require("supervisor")
@documented(BehaviourSchema)
def put_behaviour(employee_id, period):
    """Rate a report's month on the seven BerAKHLAK values (the approver only)."""
    year, month = period_arg(period)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Malformed("the body must be a JSON object of the seven BerAKHLAK values")
    has_innovation = body.pop("has_innovation", False)
    if not isinstance(has_innovation, bool):
        raise Invalid("has_innovation must be true or false", field="has_innovation", message="true or false")
    return handlers.rate_behaviour(db(), authenticate(), employee_id, year, month, body, has_innovation, _policy())


@blueprint.get("/behaviour/<employee_id>/<period>")
@require()
@documented(problems=(422,))
def get_behaviour(employee_id, period):
    """A month's behaviour rating as the approver saved it (`rating`: null before one is saved), with the
    policy's scale, so the rating form opens on what was given."""
    year, month = period_arg(period)
    return handlers.get_behaviour(db(), authenticate(), employee_id, year, month, _policy())


@blueprint.put("/targets/<employee_id>/<period>")
@transactional
@require("supervisor")
@documented(TargetsSchema)
def put_targets(employee_id, period):
    """Set a report's SKP targets for a month (the approver only); a closed month is re-scored."""
    year, month = period_arg(period)
    body = load_json(TargetsSchema())
    return targets.set_targets(db(), authenticate(), employee_id, year, month, body["targets"], _policy())


@blueprint.put("/targets/<employee_id>/<period>/assessment")
@transactional
@require("supervisor")
@documented(AssessmentsSchema)
def put_assessment(employee_id, period):
    """Record what a report realised against the month's targets (the approver only)."""
    year, month = period_arg(period)
    body = load_json(AssessmentsSchema())
    return targets.assess_targets(db(), authenticate(), employee_id, year, month, body["targets"], _policy())


@blueprint.get("/targets/<employee_id>/<period>")
@require()
def get_targets(employee_id, period):
    """A month's targets with their achievement as it stands (staff their own, supervisors their reports)."""
    year, month = period_arg(period)
    return targets.get_targets(db(), authenticate(), employee_id, year, month, _policy())


@blueprint.get("/months/<employee_id>/<period>")
@require()
@documented(problems=(422,))
def get_month(employee_id, period):
    """One employee's scored month with the breakdown that produced it, and each entry's treatment (`entries`)."""
    year, month = period_arg(period)
    return handlers.get_month(db(), authenticate(), employee_id, year, month, _policy())


@blueprint.put("/units/<unit_id>/rating/<int:year>")
@transactional
@require("admin")
@documented(UnitRatingSchema)
def put_unit_rating(unit_id, year):
    """Set a unit's own predicate for a year (it limits its staff's predicate distribution)."""
    body = load_json(UnitRatingSchema())
    return handlers.set_unit_rating(db(), authenticate(), unit_id, year, body["rating"])


@blueprint.get("/units/<unit_id>/distribution/<period>")
@require()
@documented(problems=(422,))
def get_distribution(unit_id, period):
    """The unit's predicate distribution for a month against its own rating, with violations."""
    year, month = period_arg(period)
    return handlers.unit_distribution(db(), authenticate(), unit_id, year, month, _policy())


def _posture() -> dict:
    args = load_args(PostureQuerySchema())
    return handlers.posture(db(), authenticate(), args["year"], _parse_months(args["months"]), _policy())


@blueprint.get("/posture")
@require()
@documented(query=PostureQuerySchema)
def get_posture():
    """Staffing posture per unit and position (admin/ops; a verifier their assigned units; a supervisor their own)."""
    return _posture()


@blueprint.get("/posture.csv")
@require()
@documented(query=PostureQuerySchema, produces="text/csv")
def get_posture_csv():
    """The staffing posture as CSV."""
    table = _posture()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=POSTURE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for line in table["lines"]:
        writer.writerow({k: "" if v is None else v for k, v in line.items()})
    name = f"posture-{table['year']}-{table['months'][0]:02d}-{table['months'][-1]:02d}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/public/units")
@documented(query=PublicQuerySchema)
def public_units():
    """Public aggregates per unit for a month: no names, no NIPs, small groups suppressed (no authentication)."""
    args = load_args(PublicQuerySchema())
    return handlers.public_units(db(), args["year"], args["month"], _policy())
