from decimal import Decimal

import pytest

from scoring.domain.policy import load_policy
from scoring.domain.posture import WorkloadItem, effective_minutes_for_period, staffing_posture

POLICY = load_policy({})


def posture_of(workload_minutes: int, staff: int, months: int = 12):
    """The posture line of one position doing `workload_minutes` of work with `staff` people."""
    items = [WorkloadItem("DISKOMINFO", "pranata-komputer", 1, workload_minutes)] if workload_minutes else []
    lines = staffing_posture(items, {("DISKOMINFO", "pranata-komputer"): staff}, months, POLICY)
    return next(line for line in lines if line.position_id == "pranata-komputer")


@pytest.mark.parametrize(
    "workload, efficiency, band",
    [
        (76_125, "1.02", "A"),
        (75_750, "1.01", "A"),
        (75_000, "1.00", "B"),
        (60_750, "0.81", "B"),
        (60_375, "0.81", "B"),  # 0.805 rounds up into B
        (60_000, "0.80", "C"),
        (49_500, "0.66", "C"),
        (48_750, "0.65", "D"),
        (37_500, "0.50", "D"),
        (36_750, "0.49", "E"),
        (0, "0.00", "E"),
    ],
)
def test_posture_bands_at_their_boundaries(workload, efficiency, band):
    line = posture_of(workload, staff=1)
    assert (line.efficiency, line.band) == (Decimal(efficiency), band)


def test_staff_needed_and_efficiency_for_several_people():
    items = [
        WorkloadItem("BPKAD", "bendahara", norm_minutes=30, volume=4_000),
        WorkloadItem("BPKAD", "bendahara", norm_minutes=60, volume=1_000),
    ]
    [unit, position] = staffing_posture(items, {("BPKAD", "bendahara"): 3}, 12, POLICY)
    assert position.workload_minutes == 180_000
    assert position.staff_needed == Decimal("2.40")
    assert position.efficiency == Decimal("0.80")
    assert position.band == "C"
    assert unit.position_id is None and unit.workload_minutes == 180_000


def test_effective_time_is_pro_rata_to_the_period():
    assert effective_minutes_for_period(1, POLICY) == Decimal("6250.00")
    assert effective_minutes_for_period(3, POLICY) == Decimal("18750.00")
    line = posture_of(6_250, staff=1, months=1)
    assert (line.staff_needed, line.efficiency, line.band) == (Decimal("1.00"), Decimal("1.00"), "B")
    with pytest.raises(ValueError):
        effective_minutes_for_period(0, POLICY)


def test_work_with_nobody_in_the_position_is_under_staffed():
    line = posture_of(30_000, staff=0)
    assert (line.efficiency, line.band, line.staff_needed) == (None, "A", Decimal("0.40"))


def test_unit_line_sums_its_positions():
    items = [WorkloadItem("DINKES", "bidan", 75, 1_000), WorkloadItem("DINKES", "perawat", 75, 500)]
    staff = {("DINKES", "bidan"): 1, ("DINKES", "perawat"): 1, ("DINKES", "sopir"): 2}
    lines = staffing_posture(items, staff, 12, POLICY)
    assert [(line.position_id, line.band) for line in lines] == [
        (None, "E"), ("bidan", "B"), ("perawat", "D"), ("sopir", "E"),
    ]
    assert lines[0].efficiency == Decimal("0.38")  # 112,500 ÷ (4 × 75,000)


def test_posture_bands_are_policy_data():
    policy = load_policy({"posture_bands": [{"band": "kurang", "min_efficiency": 1}, {"band": "cukup",
                                                                                       "min_efficiency": 0}]})
    items = [WorkloadItem("U", "p", 1, 75_000)]
    assert staffing_posture(items, {("U", "p"): 1}, 12, policy)[1].band == "kurang"
