"""The regional `[scoring]` policy: cross-check thresholds, score rules, predicates, posture, publication."""

from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from runtime.discipline import Discipline, load_discipline, moved_to_discipline

from .vocabulary import (
    ALL_PREDICATES,
    BAIK,
    BUTUH_PERBAIKAN,
    CUKUP,
    EARLY_BANDS,
    KURANG,
    LATE_BANDS,
    SANGAT_BAIK,
    SANGAT_KURANG,
    FlagKind,
)

PERMENPANRB_6_2022 = "permenpanrb_6_2022"
PP_30_2019 = "pp_30_2019"


@dataclass(frozen=True)
class DisciplinePolicy:
    """Deduction percentages per TL (late) / PSW (early leave) band and per TK (absent) day, and the monthly cap."""

    band_rates: Mapping[str, Decimal]
    absent_rate: Decimal
    monthly_cap: Decimal
    missing_clock_in_band: str
    missing_clock_out_band: str
    absence_rates: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    # Absence kinds whose whole days leave the month's effective minutes ([discipline.required_minutes]).
    excused_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BehaviourPolicy:
    """Scale of each BerAKHLAK value and the average needed to meet or exceed expectations."""

    scale_min: int
    scale_max: int
    meets_from: Decimal
    above_from: Decimal


@dataclass(frozen=True)
class Pp30Band:
    """One PP 30/2019 band: the predicate given from `min_score` up (some need an innovation)."""

    predicate: str
    min_score: Decimal
    requires_innovation: bool


@dataclass(frozen=True)
class PredicatePolicy:
    """How the yearly/monthly predicate is decided (`permenpanrb_6_2022` matrix or `pp_30_2019` numeric)."""

    method: str
    result_meets_from: Decimal
    result_above_from: Decimal
    pp30_work_weight: Decimal
    pp30_bands: tuple[Pp30Band, ...]


@dataclass(frozen=True)
class DistributionRule:
    """A limit on a unit's staff predicates given the unit's own rating: share and/or count bounds on a group."""

    unit_rating: str
    predicates: tuple[str, ...]
    min_share: Decimal | None
    max_share: Decimal | None
    min_count: int | None


@dataclass(frozen=True)
class PostureBand:
    """A staffing-posture band given from `min_efficiency` (job efficiency, 2 places) up."""

    band: str
    min_efficiency: Decimal


@dataclass(frozen=True)
class TargetPolicy:
    """SKP target achievement: each aspect (quantity, quality, time) counts at most `aspect_cap` percent."""

    aspect_cap: Decimal


@dataclass(frozen=True)
class ScoringPolicy:
    """Everything regional about cross-checks, scores, predicates, staffing posture and public aggregates."""

    overtime_flag_minutes: int
    overtime_coverage_ratio: Decimal
    presence_tolerance_minutes: int
    activity_score_cap: Decimal
    excluding_flag_kinds: frozenset[FlagKind]
    discipline: DisciplinePolicy
    behaviour: BehaviourPolicy
    predicate: PredicatePolicy
    distribution: tuple[DistributionRule, ...]
    effective_minutes_per_year: int
    posture_bands: tuple[PostureBand, ...]
    public_min_group: int
    targets: TargetPolicy = TargetPolicy(Decimal(100))


def _dec(value: str) -> Decimal:
    return Decimal(value)


_NON_NEGATIVE = validate.Range(min=0)
_SHARE = validate.Range(min=0, max=1)


def _discipline(shared: Discipline) -> DisciplinePolicy:
    return DisciplinePolicy(
        band_rates=MappingProxyType({band: shared.band_rates[band] for band in LATE_BANDS + EARLY_BANDS}),
        absent_rate=shared.absent_per_day,
        monthly_cap=shared.monthly_cap,
        missing_clock_in_band=shared.missing_clock_in_band,
        missing_clock_out_band=shared.missing_clock_out_band,
        absence_rates=shared.absence_rates,
        excused_kinds=shared.excused_kinds,
    )


class _BehaviourSchema(Schema):
    scale_min = fields.Int(load_default=1, strict=True)
    scale_max = fields.Int(load_default=5, strict=True)
    meets_from = fields.Decimal(load_default=_dec("3"))
    above_from = fields.Decimal(load_default=_dec("4"))

    @validates_schema
    def check_order(self, data, **_):
        low, high = data["scale_min"], data["scale_max"]
        if low >= high:
            raise ValidationError("must be greater than scale_min", "scale_max")
        if not low <= data["meets_from"] <= high:
            raise ValidationError(f"must lie on the scale {low}..{high}", "meets_from")
        if not data["meets_from"] <= data["above_from"] <= high:
            raise ValidationError(f"must lie between meets_from and scale_max ({high})", "above_from")

    @post_load
    def build(self, data, **_):
        return BehaviourPolicy(**data)


class _TargetsSchema(Schema):
    aspect_cap = fields.Decimal(load_default=_dec("100"), validate=validate.Range(min=0, max=200, min_inclusive=False))

    @post_load
    def build(self, data, **_):
        return TargetPolicy(**data)


class _Pp30BandSchema(Schema):
    predicate = fields.Str(required=True, validate=validate.OneOf(ALL_PREDICATES))
    min_score = fields.Decimal(required=True)
    requires_innovation = fields.Bool(load_default=False)

    @post_load
    def build(self, data, **_):
        return Pp30Band(**data)


_DEFAULT_PP30_BANDS = (
    Pp30Band(SANGAT_BAIK, _dec("110"), True),
    Pp30Band(BAIK, _dec("90"), False),
    Pp30Band(CUKUP, _dec("70"), False),
    Pp30Band(KURANG, _dec("50"), False),
    Pp30Band(SANGAT_KURANG, _dec("0"), False),
)


class _PredicateSchema(Schema):
    method = fields.Str(load_default=PERMENPANRB_6_2022, validate=validate.OneOf((PERMENPANRB_6_2022, PP_30_2019)))
    result_meets_from = fields.Decimal(load_default=_dec("80"))
    result_above_from = fields.Decimal(load_default=_dec("100"))
    pp30_work_weight = fields.Decimal(load_default=_dec("0.7"), validate=_SHARE)
    pp30_bands = fields.List(fields.Nested(_Pp30BandSchema), load_default=lambda: list(_DEFAULT_PP30_BANDS))

    @validates_schema
    def check_order(self, data, **_):
        if data["result_meets_from"] > data["result_above_from"]:
            raise ValidationError("must not be below result_meets_from", "result_above_from")
        bands = data["pp30_bands"]
        if not bands:
            raise ValidationError("must list at least one band", "pp30_bands")
        minimums = [band.min_score for band in bands]
        if minimums != sorted(minimums, reverse=True) or len(set(minimums)) != len(minimums):
            raise ValidationError("must be ordered by strictly decreasing min_score", "pp30_bands")
        if minimums[-1] > 0:
            raise ValidationError("the last band must start at 0 so every score has a predicate", "pp30_bands")

    @post_load
    def build(self, data, **_):
        return PredicatePolicy(**{**data, "pp30_bands": tuple(data["pp30_bands"])})


class _DistributionRuleSchema(Schema):
    unit_rating = fields.Str(required=True, validate=validate.OneOf(ALL_PREDICATES))
    predicates = fields.List(
        fields.Str(validate=validate.OneOf(ALL_PREDICATES)), required=True, validate=validate.Length(min=1)
    )
    min_share = fields.Decimal(load_default=None, validate=_SHARE)
    max_share = fields.Decimal(load_default=None, validate=_SHARE)
    min_count = fields.Int(load_default=None, strict=True, validate=validate.Range(min=1))

    @validates_schema
    def check_has_limit(self, data, **_):
        if data["min_share"] is None and data["max_share"] is None and data["min_count"] is None:
            raise ValidationError("a rule needs min_share, max_share or min_count", "predicates")

    @post_load
    def build(self, data, **_):
        return DistributionRule(**{**data, "predicates": tuple(data["predicates"])})


_DEFAULT_DISTRIBUTION = (
    DistributionRule(BAIK, (BAIK,), None, _dec("0.70"), None),
    DistributionRule(BAIK, (BUTUH_PERBAIKAN, KURANG, SANGAT_KURANG), None, None, 1),
    DistributionRule(BUTUH_PERBAIKAN, (BUTUH_PERBAIKAN,), _dec("0.60"), None, None),
    DistributionRule(BUTUH_PERBAIKAN, (SANGAT_BAIK,), None, _dec("0.10"), None),
)


class _PostureBandSchema(Schema):
    band = fields.Str(required=True, validate=validate.Length(min=1))
    min_efficiency = fields.Decimal(required=True, validate=_NON_NEGATIVE)

    @post_load
    def build(self, data, **_):
        return PostureBand(**data)


# One published ABK version: >1.00 A (under-staffed), 0.81–1.00 B, 0.66–0.80 C, 0.50–0.65 D,
# <0.50 E (over-staffed), read on the efficiency rounded to 2 places.
_DEFAULT_POSTURE_BANDS = (
    PostureBand("A", _dec("1.01")),
    PostureBand("B", _dec("0.81")),
    PostureBand("C", _dec("0.66")),
    PostureBand("D", _dec("0.50")),
    PostureBand("E", _dec("0")),
)

_DEFAULT_EXCLUDING_KINDS = (
    FlagKind.ACTIVITY_OUTSIDE_ATTENDANCE,
    FlagKind.ACTIVITY_WITHOUT_ATTENDANCE,
    FlagKind.OVERLAPPING_ACTIVITIES,
)


class ScoringPolicySchema(Schema):
    """Validates the `[scoring]` TOML table; every key is optional and defaults to the national rules."""

    overtime_flag_minutes = fields.Int(load_default=60, strict=True, validate=validate.Range(min=1))
    overtime_coverage_ratio = fields.Decimal(load_default=_dec("0.5"), validate=_SHARE)
    presence_tolerance_minutes = fields.Int(load_default=15, strict=True, validate=_NON_NEGATIVE)
    activity_score_cap = fields.Decimal(load_default=_dec("100"), validate=validate.Range(min=0, min_inclusive=False))
    excluding_flag_kinds = fields.List(
        fields.Str(validate=validate.OneOf([kind.value for kind in FlagKind])),
        load_default=lambda: [kind.value for kind in _DEFAULT_EXCLUDING_KINDS],
    )
    behaviour = fields.Nested(_BehaviourSchema, load_default=lambda: _BehaviourSchema().load({}))
    predicate = fields.Nested(_PredicateSchema, load_default=lambda: _PredicateSchema().load({}))
    distribution = fields.List(fields.Nested(_DistributionRuleSchema), load_default=lambda: list(_DEFAULT_DISTRIBUTION))
    effective_minutes_per_year = fields.Int(load_default=75_000, strict=True, validate=validate.Range(min=1))
    posture_bands = fields.List(fields.Nested(_PostureBandSchema), load_default=lambda: list(_DEFAULT_POSTURE_BANDS))
    public_min_group = fields.Int(load_default=5, strict=True, validate=validate.Range(min=1))
    targets = fields.Nested(_TargetsSchema, load_default=lambda: _TargetsSchema().load({}))

    @pre_load
    def refuse_moved_keys(self, data, **_):
        # One rule, one knob: approvals publishes `creditable`, computed with its own verification policy.
        if isinstance(data, Mapping):
            moved_to_discipline(data, ("discipline",))
        if isinstance(data, Mapping) and "verification_required" in data:
            raise ValidationError("no longer a scoring key: whether sampled decisions wait for verification is "
                                  "[approvals.verification] required_before_credit", "verification_required")
        return data

    @validates_schema
    def check_posture_bands(self, data, **_):
        minimums = [band.min_efficiency for band in data["posture_bands"]]
        if not minimums or minimums != sorted(minimums, reverse=True) or len(set(minimums)) != len(minimums):
            raise ValidationError(
                "must be non-empty and ordered by strictly decreasing min_efficiency", "posture_bands"
            )
        if minimums[-1] > 0:
            raise ValidationError("the last band must start at 0 so every efficiency has a band", "posture_bands")

    @validates_schema
    def check_pp30_behaviour_scale(self, data, **_):
        # PP 30/2019 adds behaviour to the 0–120 work score, so behaviour must be rated on that scale too.
        if data["predicate"].method == PP_30_2019 and data["behaviour"].scale_max < 100:
            raise ValidationError(
                {"behaviour": {"scale_max": ["pp_30_2019 needs behaviour on the 0-120 score scale"]}}
            )

    @post_load
    def build(self, data, **_):
        return ScoringPolicy(
            **{
                **data,
                "discipline": _discipline(load_discipline({})),
                "excluding_flag_kinds": frozenset(FlagKind(kind) for kind in data["excluding_flag_kinds"]),
                "distribution": tuple(data["distribution"]),
                "posture_bands": tuple(data["posture_bands"]),
            }
        )


def load_policy(section: dict, discipline: Discipline | None = None) -> ScoringPolicy:
    """Build the scoring policy from the `[scoring]` table and the shared `[discipline]` rates (national defaults
    when None); raises `marshmallow.ValidationError` naming the field."""
    policy = ScoringPolicySchema().load(section)
    return policy if discipline is None else replace(policy, discipline=_discipline(discipline))
