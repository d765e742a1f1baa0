"""The month's SKP target achievement, by hand: aspects, caps, weights, and what makes it missing."""
from decimal import Decimal

from scoring.domain.targets import Target, target_achievement

CAP = Decimal(100)


def test_no_targets_has_no_score_and_names_the_supervisor():
    result = target_achievement([], {}, CAP)
    assert result.score is None and "no SKP targets" in result.reason and "supervisor" in result.reason


def test_a_linked_target_counts_the_creditable_entries_of_its_item():
    # 18 of 20 laporan counted from entries: 90%.
    result = target_achievement([Target("t1", "Laporan", 20, "laporan", catalogue_item_id="LAP")], {"LAP": 18}, CAP)
    assert result.score == Decimal("90.00")


def test_the_assessment_wins_over_entries_and_each_aspect_is_capped():
    # quantity 12/10 = 120 -> 100; quality 80/100 = 80; time 5 planned / 10 taken = 50: mean 230/3 = 76.67.
    target = Target("t1", "Kajian", 10, "dokumen", quality=Decimal(100), time_days=5, catalogue_item_id="KAJ",
                    realised_quantity=12, realised_quality=Decimal(80), realised_days=10)
    result = target_achievement([target], {"KAJ": 1}, CAP)
    assert result.score == Decimal("76.67") and "capped at 100%" in result.lines[0].explanation


def test_a_higher_cap_lets_an_aspect_exceed_100():
    # quantity 12/10 = 120 under a cap of 120.
    target = Target("t1", "Kajian", 10, "dokumen", realised_quantity=12)
    assert target_achievement([target], {}, Decimal(120)).score == Decimal("120.00")


def test_targets_are_weighted_and_an_unassessed_one_makes_the_month_missing():
    done = Target("t1", "A", 10, "x", weight=3, realised_quantity=5)     # 50%
    other = Target("t2", "B", 4, "x", weight=1, realised_quantity=4)     # 100%
    assert target_achievement([done, other], {}, CAP).score == Decimal("62.50")  # (150 + 100) / 4
    waiting = Target("t3", "C", 1, "x", quality=Decimal(100), realised_quantity=1)  # quality not assessed
    result = target_achievement([done, waiting], {}, CAP)
    assert result.score is None and "1 of 2 targets not yet assessed (C)" in result.reason
    assert result.lines[1].explanation == "not assessed: quality"
