from dataclasses import fields
from decimal import Decimal

import pytest

from scoring.domain.policy import load_policy
from scoring.domain.public import PublicUnitAggregate, StaffResult, public_aggregates

POLICY = load_policy({})


def unit(unit_id: str, *predicates: str, score: str = "90") -> list[StaffResult]:
    return [StaffResult(unit_id, p, Decimal(score), Decimal("95")) for p in predicates]


def shown(aggregate: PublicUnitAggregate) -> dict[str, str]:
    return {name: count.text for name, count in aggregate.predicates}


@pytest.mark.parametrize(
    "staff, threshold, staff_text, expected",
    [
        (unit("A", *["Baik"] * 4), 5, "<5", {"Baik": "<5", "Sangat Baik": "<5"}),
        (unit("A", *["Baik"] * 5), 5, "5", {"Baik": "5", "Sangat Baik": "0"}),
        (unit("A", *["Baik"] * 4), 3, "4", {"Baik": "4", "Sangat Baik": "0"}),
        (unit("A", *["Baik"] * 10, "Sangat Kurang"), 5, "11",
         {"Baik": "≥5", "Sangat Kurang": "<5", "Sangat Baik": "0"}),
        (unit("A", *["Baik"] * 10, *["Butuh Perbaikan"] * 6, "Sangat Kurang", "Kurang"), 5, "18",
         {"Baik": "10", "Butuh Perbaikan": "6", "Sangat Kurang": "<5", "Kurang": "<5"}),
    ],
)
def test_small_groups_are_suppressed(staff, threshold, staff_text, expected):
    [aggregate] = public_aggregates(staff, load_policy({"public_min_group": threshold}))
    assert aggregate.staff.text == staff_text
    assert {name: shown(aggregate)[name] for name in expected} == expected


def test_suppressed_counts_have_no_value():
    [small] = public_aggregates(unit("A", "Baik", "Baik"), POLICY)
    assert small.staff.value is None
    assert all(count.value is None for _, count in small.predicates)
    assert (small.average_activity_score, small.average_discipline_score) == (None, None)


def test_averages_and_distribution_of_a_large_unit():
    staff = unit("B", *["Baik"] * 3, score="80") + unit("B", *["Baik"] * 3, score="91")
    [aggregate] = public_aggregates(staff, POLICY)
    assert aggregate.average_activity_score == Decimal("85.50")
    assert aggregate.average_discipline_score == Decimal("95.00")
    assert [name for name, _ in aggregate.predicates] == [
        "Sangat Baik", "Baik", "Butuh Perbaikan", "Kurang", "Sangat Kurang",
    ]


def test_not_yet_scored_staff_count_but_hide_averages_below_the_threshold():
    staff = unit("C", *["Baik"] * 4) + [StaffResult("C", None, None, None)] * 2
    [aggregate] = public_aggregates(staff, POLICY)
    assert aggregate.staff.value == 6
    assert aggregate.average_activity_score is None


def test_units_are_reported_separately_and_carry_no_personal_fields():
    result = public_aggregates(unit("X", *["Baik"] * 5) + unit("Y", "Baik"), POLICY)
    assert [(a.unit_id, a.staff.text) for a in result] == [("X", "5"), ("Y", "<5")]
    names = {f.name for f in fields(PublicUnitAggregate)} | {f.name for f in fields(StaffResult)}
    assert not names & {"employee_id", "nip", "name"}


def test_pp30_units_list_pp30_predicates():
    policy = load_policy({"predicate": {"method": "pp_30_2019"}, "behaviour": {"scale_min": 0, "scale_max": 120,
                                                                                "meets_from": 90,
                                                                                "above_from": 110}})
    [aggregate] = public_aggregates(unit("Z", *["Cukup"] * 5), policy)
    assert shown(aggregate)["Cukup"] == "5"
    assert "Butuh Perbaikan" not in shown(aggregate)
