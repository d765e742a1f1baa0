"""Regional rules for activity entries: the `[activities]` section of the policy file."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from marshmallow import Schema, fields, post_load, validate

MIB = 1024 * 1024
EVIDENCE_TYPES = ("image/jpeg", "image/png", "application/pdf")


class WindowMode(StrEnum):
    """How far back a day's activities may still be entered."""

    DAILY = "daily"
    WITHIN_DAYS = "within_days"
    BIWEEKLY = "biweekly"


@dataclass(frozen=True)
class EntryWindow:
    """Which local dates accept new or edited entries, relative to today."""

    mode: WindowMode = WindowMode.WITHIN_DAYS
    days: int = 3
    period_anchor: date = date(2024, 1, 1)


@dataclass(frozen=True)
class EvidencePolicy:
    """What an evidence file (photo or document proving the work) may be, and whether it is needed."""

    required: bool = False
    max_bytes: int = 5 * MIB
    types: tuple[str, ...] = EVIDENCE_TYPES


@dataclass(frozen=True)
class ActivitiesPolicy:
    """All regional settings of the activities service."""

    entry_window: EntryWindow = EntryWindow()
    evidence: EvidencePolicy = EvidencePolicy()
    daily_credit_cap_minutes: int | None = None


class _EntryWindowSchema(Schema):
    mode = fields.Enum(WindowMode, by_value=True, load_default=EntryWindow.mode)
    days = fields.Integer(strict=True, validate=validate.Range(min=0, max=366), load_default=EntryWindow.days)
    period_anchor = fields.Date(load_default=EntryWindow.period_anchor)

    @post_load
    def _build(self, data, **kwargs):
        return EntryWindow(**data)


class _EvidenceSchema(Schema):
    required = fields.Boolean(load_default=EvidencePolicy.required)
    max_bytes = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=EvidencePolicy.max_bytes)
    types = fields.List(
        fields.String(validate=validate.OneOf(EVIDENCE_TYPES)),
        validate=validate.Length(min=1),
        load_default=list(EVIDENCE_TYPES),
    )

    @post_load
    def _build(self, data, **kwargs):
        return EvidencePolicy(required=data["required"], max_bytes=data["max_bytes"], types=tuple(data["types"]))


class _ActivitiesSchema(Schema):
    entry_window = fields.Nested(_EntryWindowSchema, load_default=EntryWindow)
    evidence = fields.Nested(_EvidenceSchema, load_default=EvidencePolicy)
    # Absent means no cap: TOML has no null.
    daily_credit_cap_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 60),
                                              load_default=None)

    @post_load
    def _build(self, data, **kwargs):
        return ActivitiesPolicy(**data)


def load_policy(section: dict) -> ActivitiesPolicy:
    """Validate the `[activities]` table of a policy file; raises marshmallow.ValidationError naming the field."""
    return _ActivitiesSchema().load(section)
