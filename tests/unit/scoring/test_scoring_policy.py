import tomllib
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from runtime.discipline import load_discipline
from scoring.domain.policy import load_policy
from scoring.domain.vocabulary import FlagKind

NATIONAL = """
[scoring]
overtime_flag_minutes = 60
overtime_coverage_ratio = 0.5
presence_tolerance_minutes = 15
activity_score_cap = 100
excluding_flag_kinds = ["activity_outside_attendance", "activity_without_attendance", "overlapping_activities"]
effective_minutes_per_year = 75000
public_min_group = 5

[scoring.behaviour]
scale_min = 1
scale_max = 5
meets_from = 3
above_from = 4

[scoring.predicate]
method = "permenpanrb_6_2022"
result_meets_from = 80
result_above_from = 100
pp30_work_weight = 0.7
pp30_bands = [
  { predicate = "Sangat Baik", min_score = 110, requires_innovation = true },
  { predicate = "Baik", min_score = 90 },
  { predicate = "Cukup", min_score = 70 },
  { predicate = "Kurang", min_score = 50 },
  { predicate = "Sangat Kurang", min_score = 0 },
]

[[scoring.distribution]]
unit_rating = "Baik"
predicates = ["Baik"]
max_share = 0.70

[[scoring.distribution]]
unit_rating = "Baik"
predicates = ["Butuh Perbaikan", "Kurang", "Sangat Kurang"]
min_count = 1

[[scoring.distribution]]
unit_rating = "Butuh Perbaikan"
predicates = ["Butuh Perbaikan"]
min_share = 0.60

[[scoring.distribution]]
unit_rating = "Butuh Perbaikan"
predicates = ["Sangat Baik"]
max_share = 0.10

[[scoring.posture_bands]]
band = "A"
min_efficiency = 1.01
[[scoring.posture_bands]]
band = "B"
min_efficiency = 0.81
[[scoring.posture_bands]]
band = "C"
min_efficiency = 0.66
[[scoring.posture_bands]]
band = "D"
min_efficiency = 0.50
[[scoring.posture_bands]]
band = "E"
min_efficiency = 0
"""

SURABAYA = """
[scoring]
overtime_flag_minutes = 60
overtime_coverage_ratio = 0.75
excluding_flag_kinds = ["activity_outside_attendance", "activity_without_attendance", "overlapping_activities",
                        "activity_exceeds_presence"]
"""

BANDA_ACEH = """
[scoring]
activity_score_cap = 100
"""

BELITUNG_TIMUR = """
[scoring]
presence_tolerance_minutes = 30
excluding_flag_kinds = ["activity_outside_attendance", "activity_without_attendance", "overlapping_activities",
                        "activity_exceeds_presence"]
"""

MEMPAWAH = """
[scoring]
activity_score_cap = 120

[scoring.behaviour]
scale_min = 0
scale_max = 120
meets_from = 90
above_from = 110

[scoring.predicate]
method = "pp_30_2019"
pp30_work_weight = 0.7
"""


def section(text: str) -> dict:
    return tomllib.loads(text)["scoring"]


def test_the_national_preset_spells_out_the_defaults():
    assert load_policy(section(NATIONAL)) == load_policy({})


@pytest.mark.parametrize(
    "preset, attribute, value",
    [
        (SURABAYA, "overtime_coverage_ratio", Decimal("0.75")),
        (BANDA_ACEH, "activity_score_cap", Decimal("100")),
        (BELITUNG_TIMUR, "presence_tolerance_minutes", 30),
        (MEMPAWAH, "activity_score_cap", Decimal("120")),
    ],
)
def test_regional_presets_load(preset, attribute, value):
    policy = load_policy(section(preset))
    assert getattr(policy, attribute) == value


def test_mempawah_uses_pp30_and_default_posture():
    policy = load_policy(section(MEMPAWAH))
    assert policy.predicate.method == "pp_30_2019"
    assert policy.effective_minutes_per_year == 75_000
    assert policy.posture_bands == load_policy({}).posture_bands


def test_defaults_are_the_national_rules():
    policy = load_policy({})
    assert policy.overtime_flag_minutes == 60
    assert policy.discipline.band_rates["TL3"] == Decimal("1.5")
    assert policy.discipline.absent_rate == Decimal("3")
    assert policy.predicate.pp30_work_weight == Decimal("0.7")
    assert FlagKind.OVERLAPPING_ACTIVITIES in policy.excluding_flag_kinds
    assert policy.public_min_group == 5


@pytest.mark.parametrize(
    "given, errors",
    [
        ({"overtime_flag_minutes": "sixty"}, {"overtime_flag_minutes": ["Not a valid integer."]}),
        ({"overtime_coverage_ratio": 1.5},
         {"overtime_coverage_ratio": ["Must be greater than or equal to 0 and less than or equal to 1."]}),
        ({"overtime_treshold": 60}, {"overtime_treshold": ["Unknown field."]}),
        ({"discipline": {"TK": 4}}, {"discipline": ["set once in the [discipline] section, read by scoring and payroll"]}),
        ({"behaviour": {"meets_from": 6}}, {"behaviour": {"meets_from": ["must lie on the scale 1..5"]}}),
        ({"behaviour": {"above_from": 2}},
         {"behaviour": {"above_from": ["must lie between meets_from and scale_max (5)"]}}),
        ({"predicate": {"method": "pp_46_2011"}},
         {"predicate": {"method": ["Must be one of: permenpanrb_6_2022, pp_30_2019."]}}),
        ({"predicate": {"method": "pp_30_2019"}},
         {"behaviour": {"scale_max": ["pp_30_2019 needs behaviour on the 0-120 score scale"]}}),
        ({"predicate": {"pp30_bands": [{"predicate": "Baik", "min_score": 90}]}},
         {"predicate": {"pp30_bands": ["the last band must start at 0 so every score has a predicate"]}}),
        ({"distribution": [{"unit_rating": "Baik", "predicates": ["Baik"]}]},
         {"distribution": {0: {"predicates": ["a rule needs min_share, max_share or min_count"]}}}),
        ({"distribution": [{"unit_rating": "Bagus", "predicates": ["Baik"], "max_share": 0.7}]},
         {"distribution": {0: {"unit_rating": [
             "Must be one of: Sangat Baik, Baik, Butuh Perbaikan, Cukup, Kurang, Sangat Kurang."]}}}),
        ({"posture_bands": [{"band": "A", "min_efficiency": 0.5}, {"band": "B", "min_efficiency": 1}]},
         {"posture_bands": ["must be non-empty and ordered by strictly decreasing min_efficiency"]}),
        ({"excluding_flag_kinds": ["lazy"]}, {"excluding_flag_kinds": {0: [
            "Must be one of: " + ", ".join(kind.value for kind in FlagKind) + "."]}}),
    ],
)
def test_invalid_policy_names_the_field(given, errors):
    with pytest.raises(ValidationError) as invalid:
        load_policy(given)
    assert invalid.value.messages == errors


def test_verification_before_credit_is_approvals_knob_not_scorings():
    with pytest.raises(ValidationError) as refused:
        load_policy(section("[scoring]\nverification_required = true\n"))
    assert "[approvals.verification] required_before_credit" in refused.value.messages["verification_required"][0]


def test_discipline_rates_come_from_the_shared_section():
    shared = load_discipline({"absent_per_day": 4, "missing_clock_in_band": "TL3",
                              "band_rates": {"TL1": 1, "TL2": 1.25, "TL3": 2.5, "TL4": 2.5,
                                             "PSW1": 1, "PSW2": 1.25, "PSW3": 2.5, "PSW4": 2.5}})
    policy = load_policy({}, shared)
    assert policy.discipline.absent_rate == Decimal("4") and policy.discipline.band_rates["TL2"] == Decimal("1.25")
    assert policy.discipline.missing_clock_in_band == "TL3"
