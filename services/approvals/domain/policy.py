"""Regional rules for decisions and verification: the `[approvals]` section of the policy file."""

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from enum import StrEnum

from marshmallow import Schema, fields, post_load, validate

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class DeadlineMode(StrEnum):
    """How the day by which a supervisor must decide an entry is set."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    DAYS = "days"


@dataclass(frozen=True)
class DecisionDeadline:
    """`weekly`: a week's entries (Mon–Sun) are due on `weekday` of the next week; `biweekly`: a two-week
    period's entries (periods start on `period_anchor`) are due `days` after it ends; `days`: `days` after
    the entry's date. Calendar days, local dates; weekday 0 is Monday."""

    mode: DeadlineMode = DeadlineMode.DAYS
    weekday: int = 4
    days: int = 5
    period_anchor: date = date(2024, 1, 1)


@dataclass(frozen=True)
class VerificationPolicy:
    """Share of decisions the independent unit verifies (0 none, 1 all), and whether a sampled approval
    credits only once verified."""

    rate: Decimal = Decimal(0)
    required_before_credit: bool = False


@dataclass(frozen=True)
class MonthClosePolicy:
    """When a unit's month may be closed: after its last day has ended in the unit's zone (`from_local_time` None),
    or from that local time on the month's last day, for a region that closes once the day's schedule is over."""

    from_local_time: time | None = None


@dataclass(frozen=True)
class ApprovalsPolicy:
    """All regional settings of the approvals service; an overdue entry moves one level up the chain
    every `escalation_step_days`."""

    decision_deadline: DecisionDeadline = DecisionDeadline()
    escalation_step_days: int = 3
    verification: VerificationPolicy = VerificationPolicy()
    month_close: MonthClosePolicy = MonthClosePolicy()


class _DeadlineSchema(Schema):
    mode = fields.Enum(DeadlineMode, by_value=True, load_default=DecisionDeadline.mode)
    weekday = fields.String(validate=validate.OneOf(WEEKDAYS), load_default=WEEKDAYS[DecisionDeadline.weekday])
    days = fields.Integer(strict=True, validate=validate.Range(min=0, max=366), load_default=DecisionDeadline.days)
    period_anchor = fields.Date(load_default=DecisionDeadline.period_anchor)

    @post_load
    def _build(self, data, **kwargs):
        return DecisionDeadline(**{**data, "weekday": WEEKDAYS.index(data["weekday"])})


class _VerificationSchema(Schema):
    # A TOML float such as 0.1 arrives as a float; marshmallow converts it through its text, not its binary value.
    rate = fields.Decimal(validate=validate.Range(min=0, max=1), load_default=VerificationPolicy.rate)
    required_before_credit = fields.Boolean(load_default=VerificationPolicy.required_before_credit)

    @post_load
    def _build(self, data, **kwargs):
        return VerificationPolicy(**data)


class _MonthCloseSchema(Schema):
    # "HH:MM" local time on the month's last day; "24:00" (the default) is when the day has ended.
    from_local_time = fields.String(load_default="24:00", validate=validate.Regexp(
        r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", error="a local time HH:MM, or 24:00 for the end of the day"))

    @post_load
    def _build(self, data, **kwargs):
        text = data["from_local_time"]
        return MonthClosePolicy(None if text == "24:00" else time.fromisoformat(text))


class _ApprovalsSchema(Schema):
    decision_deadline = fields.Nested(_DeadlineSchema, load_default=DecisionDeadline)
    escalation_step_days = fields.Integer(strict=True, validate=validate.Range(min=1),
                                          load_default=ApprovalsPolicy.escalation_step_days)
    verification = fields.Nested(_VerificationSchema, load_default=VerificationPolicy)
    month_close = fields.Nested(_MonthCloseSchema, load_default=MonthClosePolicy)

    @post_load
    def _build(self, data, **kwargs):
        return ApprovalsPolicy(**data)


def load_policy(section: dict) -> ApprovalsPolicy:
    """Validate the `[approvals]` table of a policy file; raises marshmallow.ValidationError naming the field."""
    return _ApprovalsSchema().load(section)
