"""The regional TPP policy: the `[payroll]` section of a policy file, validated into frozen dataclasses.

Every number that differs between regions lives here; `load_policy({})` gives the national defaults of
REQUIREMENTS.md (base amounts per job class are illustrative: each region sets its own in its Perkada).
"""

from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from runtime.discipline import ABSENCE_KINDS, Discipline, load_discipline, moved_to_discipline

JOB_CLASSES = range(1, 18)
COMPONENT_SOURCES = ("activity_score", "discipline", "target", "behaviour", "overtime")
SANCTION_LEVELS = ("light", "medium", "heavy", "dismissal")
ROUNDING_MODES = ("half_up", "down")
DEDUCT_FROM = ("discipline_component", "total")
# Where a correction received after the cut-off day is paid: the first run whose cut-off it makes, or the one after.
AFTER_CUTOFF = ("next_run", "run_after_next")
# `[payroll.precision] score`: "received" prices the scores as scoring publishes them (the activity score at 0.01);
# "exact" prices the activity score on credited ÷ effective minutes unrounded; a step (percent) rounds that once.
SCORE_PRECISIONS = ("received", "exact", "0.01", "0.1", "1")
# The fields of bank.BankRow a transfer file may carry (kept equal to bank.BANK_COLUMNS by a unit test).
BANK_FILE_COLUMNS = ("employee_id", "name", "unit_id", "bank_code", "bank_account", "amount", "reference")

# Illustrative monthly amounts (rupiah) per kelas jabatan (job class) 1–17.
DEFAULT_BASE_AMOUNTS = {
    1: 1_500_000, 2: 1_700_000, 3: 1_900_000, 4: 2_200_000, 5: 2_500_000, 6: 2_900_000,
    7: 3_500_000, 8: 4_200_000, 9: 5_000_000, 10: 6_000_000, 11: 7_200_000, 12: 8_600_000,
    13: 10_300_000, 14: 12_400_000, 15: 15_000_000, 16: 18_000_000, 17: 22_000_000,
}
DEFAULT_SANCTIONS = {
    "light": ["20", "30", "40"], "medium": ["40", "50", "60"], "heavy": ["60", "70", "80"], "dismissal": ["100"],
}
# Illustrative: PPh 21 final rates by golongan (PMK 262/2010) and the BPJS Kesehatan employee share.
DEFAULT_TAX_RATES = {"I": "0", "II": "0", "III": "5", "IV": "15"}
DEFAULT_CONTRIBUTIONS = [{"name": "BPJS Kesehatan", "percent": "1", "ceiling": 12_000_000}]


@dataclass(frozen=True)
class Rounding:
    """How money is rounded: `half_up` or `down` (toward zero), to a multiple of `unit` rupiah."""

    mode: str
    unit: int


@dataclass(frozen=True)
class Precision:
    """The step of each figure before it is priced or added up (`rounding.mode` rounds): `score` the step the
    scores (activity, target, behaviour) are priced at, in percent (None: unstepped; 1 = whole percents);
    `minutes` prices the activity score on the month's credited ÷ effective minutes, unrounded, when scoring sent
    them (False: the activity score as scoring publishes it, at 0.01); `component` and `deduction` a multiple of
    rupiah each such line is rounded to (0 = exact, the lines then apportioned to the gross as a whole)."""

    score: Decimal | None = None
    component: int = 0
    deduction: int = 0
    minutes: bool = False


@dataclass(frozen=True)
class Component:
    """One share of the TPP: `weight` percent of the base, paid by the score named by `source`.

    `when_missing_percent`: the percent of the share paid while the month has no figure for `source` (e.g. no
    SKP targets assessed, behaviour not yet rated); 0 = unpaid until the figure arrives as a correction.
    """

    name: str
    weight: Decimal
    source: str
    when_missing_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class OvertimeScoring:
    """Overtime score: hours ÷ `full_hours` × 100, at least `minimum_percent`, at most 100."""

    full_hours: Decimal
    minimum_percent: Decimal


@dataclass(frozen=True)
class DisciplinePolicy:
    """Deductions in percent of the `deduct_from` base per band, per TK day and per deducting absence kind."""

    band_rates: Mapping[str, Decimal]
    absent_per_day: Decimal
    monthly_cap: Decimal
    deduct_from: str
    absence_rates: Mapping[str, Decimal]


@dataclass(frozen=True)
class MinimumPolicy:
    """A floor on the gross allowance (before tax and contributions; 0 = none) for employees of job class
    `max_job_class` or below (e.g. staff level) with no active sanction and a high enough activity score."""

    amount: int
    min_activity_score: Decimal
    max_job_class: int = max(JOB_CLASSES)


@dataclass(frozen=True)
class TaxPolicy:
    """Income tax withheld from the gross, in percent by grade or golongan (empty = no tax line)."""

    name: str
    percent_by_grade: Mapping[str, Decimal]


@dataclass(frozen=True)
class Contribution:
    """An employee contribution withheld: `percent` of the gross, the gross capped at `ceiling` (0 = no cap)."""

    name: str
    percent: Decimal
    ceiling: int


@dataclass(frozen=True)
class PayrollPolicy:
    """Everything `compute_tpp` and the run rules need to know about a region."""

    rounding: Rounding
    base_amounts: Mapping[int, int]
    position_overrides: Mapping[str, int]
    components: tuple[Component, ...]
    overtime: OvertimeScoring
    discipline: DisciplinePolicy
    sanctions: Mapping[str, tuple[Decimal, ...]]
    cpns_percent: Decimal
    minimum: MinimumPolicy
    tax: TaxPolicy
    contributions: tuple[Contribution, ...]
    correction_cutoff_day: int
    after_cutoff: str = "next_run"
    bank_columns: tuple[str, ...] = BANK_FILE_COLUMNS
    bank_delimiter: str = ","
    precision: Precision = Precision()


class _Percent(fields.Decimal):
    """A Decimal percent that reads TOML floats through their shortest text (1.1 stays 1.1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
        return super()._deserialize(value, attr, data, **kwargs)


def _percent(maximum: int | None = None, **kwargs) -> _Percent:
    return _Percent(validate=validate.Range(min=0, max=maximum), **kwargs)


def _money(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0), **kwargs)


class _RoundingSchema(Schema):
    mode = fields.String(load_default="half_up", validate=validate.OneOf(ROUNDING_MODES))
    unit = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))

    @post_load
    def make(self, data, **kwargs):
        return Rounding(**data)


class _PrecisionSchema(Schema):
    score = fields.String(load_default="received", validate=validate.OneOf(SCORE_PRECISIONS))
    component = _money(load_default=0)
    deduction = _money(load_default=0)

    @post_load
    def make(self, data, **kwargs):
        step = None if data["score"] in ("received", "exact") else Decimal(data["score"])
        return Precision(score=step, component=data["component"], deduction=data["deduction"],
                         minutes=data["score"] != "received")


class _ComponentSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    weight = _percent(required=True)
    source = fields.String(required=True, validate=validate.OneOf(COMPONENT_SOURCES))
    when_missing_percent = _percent(100, load_default=Decimal(0))

    @post_load
    def make(self, data, **kwargs):
        return Component(**{**data, "when_missing_percent": Decimal(data["when_missing_percent"])})


class _OvertimeSchema(Schema):
    full_hours = _Percent(load_default=Decimal(60), validate=validate.Range(min=0, min_inclusive=False))
    minimum_percent = _percent(100, load_default=Decimal(0))

    @post_load
    def make(self, data, **kwargs):
        return OvertimeScoring(**data)


class _DeductFromSchema(Schema):
    """`[payroll.discipline]`: only what the deductions are a percent of; the rates are `[discipline]`'s."""

    deduct_from = fields.String(load_default="total", validate=validate.OneOf(DEDUCT_FROM))

    @pre_load
    def refuse_rates(self, data, **kwargs):
        if isinstance(data, dict):
            moved_to_discipline(data, ("band_rates", "absent_per_day", "monthly_cap", "absence_rates"))
        return data


def _discipline(shared: Discipline, deduct_from: str) -> DisciplinePolicy:
    return DisciplinePolicy(band_rates=shared.band_rates, absent_per_day=shared.absent_per_day,
                            monthly_cap=shared.monthly_cap, deduct_from=deduct_from,
                            absence_rates=shared.absence_rates)


class _SanctionsSchema(Schema):
    light = fields.List(_percent(100), load_default=DEFAULT_SANCTIONS["light"], validate=validate.Length(min=1))
    medium = fields.List(_percent(100), load_default=DEFAULT_SANCTIONS["medium"], validate=validate.Length(min=1))
    heavy = fields.List(_percent(100), load_default=DEFAULT_SANCTIONS["heavy"], validate=validate.Length(min=1))
    dismissal = fields.List(
        _percent(100), load_default=DEFAULT_SANCTIONS["dismissal"], validate=validate.Length(min=1)
    )

    @post_load
    def make(self, data, **kwargs):
        return MappingProxyType({level: tuple(Decimal(p) for p in data[level]) for level in SANCTION_LEVELS})


class _MinimumSchema(Schema):
    amount = _money(load_default=0)
    min_activity_score = _percent(load_default=Decimal(0))
    max_job_class = fields.Integer(strict=True, load_default=max(JOB_CLASSES),
                                   validate=validate.Range(min=min(JOB_CLASSES), max=max(JOB_CLASSES)))

    @post_load
    def make(self, data, **kwargs):
        return MinimumPolicy(**data)


class _TaxSchema(Schema):
    name = fields.String(load_default="PPh 21")
    percent_by_grade = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=_percent(100),
        load_default=DEFAULT_TAX_RATES,
    )

    @post_load
    def make(self, data, **kwargs):
        rates = {grade: Decimal(p) for grade, p in data["percent_by_grade"].items()}
        return TaxPolicy(name=data["name"], percent_by_grade=MappingProxyType(rates))


class _ContributionSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    percent = _percent(100, required=True)
    ceiling = _money(load_default=0)

    @post_load
    def make(self, data, **kwargs):
        return Contribution(name=data["name"], percent=Decimal(data["percent"]), ceiling=data["ceiling"])


class _PayrollSchema(Schema):
    rounding = fields.Nested(_RoundingSchema, load_default=lambda: Rounding("half_up", 1))
    base_amounts = fields.Dict(
        keys=fields.Integer(strict=False, validate=validate.Range(min=1, max=17)),
        values=_money(),
        load_default=DEFAULT_BASE_AMOUNTS,
    )
    position_overrides = fields.Dict(keys=fields.String(), values=_money(), load_default=dict)
    components = fields.List(
        fields.Nested(_ComponentSchema),
        load_default=lambda: [Component("kinerja", Decimal(60), "activity_score"),
                              Component("disiplin", Decimal(40), "discipline")],
    )
    overtime = fields.Nested(_OvertimeSchema, load_default=lambda: _OvertimeSchema().load({}))
    discipline = fields.Nested(_DeductFromSchema, load_default=lambda: {"deduct_from": "total"})
    sanctions = fields.Nested(_SanctionsSchema, load_default=lambda: _SanctionsSchema().load({}))
    cpns_percent = _percent(100, load_default=Decimal(80))
    minimum = fields.Nested(_MinimumSchema, load_default=lambda: MinimumPolicy(0, Decimal(0)))
    tax = fields.Nested(_TaxSchema, load_default=lambda: _TaxSchema().load({}))
    contributions = fields.List(fields.Nested(_ContributionSchema), load_default=lambda: [
        _ContributionSchema().load(c) for c in DEFAULT_CONTRIBUTIONS])
    correction_cutoff_day = fields.Integer(strict=True, load_default=10, validate=validate.Range(min=1, max=31))
    after_cutoff = fields.String(load_default="next_run", validate=validate.OneOf(AFTER_CUTOFF))
    bank_columns = fields.List(
        fields.String(validate=validate.OneOf(BANK_FILE_COLUMNS)), load_default=lambda: list(BANK_FILE_COLUMNS),
        validate=validate.Length(min=1),
    )
    bank_delimiter = fields.String(load_default=",", validate=validate.OneOf([",", ";", "|", "\t"]))
    precision = fields.Nested(_PrecisionSchema, load_default=Precision)

    @validates_schema
    def every_job_class(self, data, **kwargs):
        missing = [c for c in JOB_CLASSES if c not in data.get("base_amounts", {})]
        if missing:
            raise ValidationError({str(c): ["Missing amount for this job class."] for c in missing}, "base_amounts")

    @validates_schema
    def weights_make_100(self, data, **kwargs):
        components = data.get("components", [])
        total = sum((c.weight for c in components), Decimal(0))
        if total != 100:
            raise ValidationError(f"Component weights must sum to 100, not {total}.", "components")
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValidationError("Component names must be unique.", "components")

    @validates_schema
    def discipline_base_exists(self, data, **kwargs):
        discipline = data.get("discipline")
        if discipline and discipline["deduct_from"] == "discipline_component" and not any(
            c.source == "discipline" for c in data.get("components", [])
        ):
            raise ValidationError(
                {"deduct_from": ["No component has source 'discipline' to deduct from."]}, "discipline"
            )

    @post_load
    def make(self, data, **kwargs):
        return PayrollPolicy(
            rounding=data["rounding"],
            base_amounts=MappingProxyType(dict(data["base_amounts"])),
            position_overrides=MappingProxyType(dict(data["position_overrides"])),
            components=tuple(data["components"]),
            overtime=data["overtime"],
            discipline=_discipline(load_discipline({}), data["discipline"]["deduct_from"]),
            sanctions=data["sanctions"],
            cpns_percent=Decimal(data["cpns_percent"]),
            minimum=data["minimum"],
            tax=data["tax"],
            contributions=tuple(data["contributions"]),
            correction_cutoff_day=data["correction_cutoff_day"],
            after_cutoff=data["after_cutoff"],
            bank_columns=tuple(data["bank_columns"]),
            bank_delimiter=data["bank_delimiter"],
            precision=data["precision"],
        )


def load_policy(section: dict, discipline: Discipline | None = None) -> PayrollPolicy:
    """Validate the `[payroll]` table of a policy file with the shared `[discipline]` rates (national defaults when
    None); raises `marshmallow.ValidationError` naming the field."""
    policy = _PayrollSchema().load(section)
    if discipline is None:
        return policy
    return replace(policy, discipline=_discipline(discipline, policy.discipline.deduct_from))
