"""Events of the scoring service: cross-check flags and monthly scores."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate

from contracts import topics
from contracts.vocabulary import NIP


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


class DayFacts(fields.Field):
    """A list of attendance days as payroll needs them for discipline deductions and their evidence. Each item:
    `local_date` (ISO date) and `status` (text), required; `late_band`, `early_band`, `absence_kind` (text or
    null), optional. No other keys.

    Checked by this one field rather than a nested schema per item: a month has up to 31 of them, in every
    `scoring.month.scored` event, and a nested load per item was most of the cost of checking the event. The
    wire form and the errors (by item index and key) are what a nested schema would give."""

    REQUIRED = ("local_date", "status")
    OPTIONAL = ("late_band", "early_band", "absence_kind")

    def _deserialize(self, value, attr, data, **kwargs) -> list[dict]:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        loaded, errors = [], {}
        for index, item in enumerate(value):
            fact, problems = self._item(item)
            if problems:
                errors[index] = problems
            loaded.append(fact)
        if errors:
            raise ValidationError(errors)
        return loaded

    def _item(self, item) -> tuple[dict, dict]:
        if not isinstance(item, dict):
            return {}, {"_schema": ["Invalid input type."]}
        problems = {key: ["Unknown field."] for key in item if key not in self.REQUIRED + self.OPTIONAL}
        fact = {}
        for key in self.REQUIRED:
            if item.get(key) is None:
                problems[key] = ["Missing data for required field."]
            elif not isinstance(item[key], str):
                problems[key] = ["Not a valid string."]
        if "local_date" not in problems:
            try:
                if len(item["local_date"]) != 10:  # YYYY-MM-DD only, as marshmallow's Date field
                    raise ValueError(item["local_date"])
                fact["local_date"] = date.fromisoformat(item["local_date"])
            except ValueError:
                problems["local_date"] = ["Not a valid date."]
        fact["status"] = item.get("status")
        for key in self.OPTIONAL:
            fact[key] = item.get(key)
            if fact[key] is not None and not isinstance(fact[key], str):
                problems[key] = ["Not a valid string."]
        return fact, problems

    def _serialize(self, value, attr, obj, **kwargs) -> list[dict] | None:
        if value is None:
            return None
        return [{"local_date": fact["local_date"].isoformat(), "status": fact["status"],
                 **{key: fact.get(key) for key in self.OPTIONAL}} for fact in value]


class MonthScoredSchema(Schema):
    """One employee's scored month, with the breakdown that produced it.

    `days` holds the month's days that are not plain: absences of any kind, days with a late or early band or a
    missing punch, overtime, holidays. A plain day (worked or rested with none of these) can never be charged,
    so it is left out; `effective_minutes` already counts its time. The breakdown's activity lines judge the
    entries a flag names one by one and tally the others by treatment; scoring's `GET /months/...` lists every
    entry."""

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
    days = DayFacts(required=True)
    breakdown = fields.Dict(required=True)
    # Why this version was scored when it re-scores a closed month (a correction): the rebuilt day and its
    # absence letter, the decision, verification or flag clearance, the rating; None for a month's first score.
    cause = fields.String(load_default=None, allow_none=True)


EVENTS = {
    "scoring.flag.raised": (topics.SCORING_FLAGS, FlagSchema),
    "scoring.flag.resolved": (topics.SCORING_FLAGS, FlagSchema),
    "scoring.month.scored": (topics.SCORING_MONTHS, MonthScoredSchema),
}
