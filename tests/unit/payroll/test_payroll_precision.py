"""Precision is policy ([payroll.precision]): the step of the score, of each component and of each deduction,
shown on the payslip line. National policy: job class 8 = Rp 4.200.000, kinerja 60 / disiplin 40."""
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from payroll.domain.policy import Precision, load_policy
from payroll.domain.tpp import DayFact, EmployeeFacts, MonthFacts, compute_tpp, minutes_ratio


def _employee(job_class=8):
    return EmployeeFacts("198503152010011002", "Siti Aminah", "DISKOMINFO", job_class, None, "PNS", None, "III/a")


def _month(activity="85.71", days=()):
    return MonthFacts(2026, 11, Decimal(activity), days=days)


def _line(payslip, description):
    return next(line for line in payslip.lines if line.description == description)


def test_default_prices_the_score_as_received_and_every_line_exactly():
    # 60% x 4.200.000 = 2.520.000 x 85,71% = 2.159.892 (as today).
    kinerja = _line(compute_tpp(_employee(), _month(), load_policy({})), "kinerja")
    assert kinerja.amount == 2_159_892 and "rounded" not in kinerja.rule


def test_a_region_pricing_whole_percents_shows_the_rounding():
    # score step 1%: 85,71% -> 86% half up; 2.520.000 x 86% = 2.167.200.
    policy = load_policy({"precision": {"score": "1"}})
    kinerja = _line(compute_tpp(_employee(), _month(), policy), "kinerja")
    assert kinerja.amount == 2_167_200
    assert "× activity score 86% (from 85,71%, rounded half up to a step of 1%)" in kinerja.rule
    # rounding mode down: 85,71% -> 85%; 2.520.000 x 85% = 2.142.000.
    down = load_policy({"precision": {"score": "1"}, "rounding": {"mode": "down", "unit": 1}})
    assert _line(compute_tpp(_employee(), _month(), down), "kinerja").amount == 2_142_000


def test_components_rounded_to_a_thousand():
    # 2.159.892 -> 2.160.000 (half up to a multiple of Rp 1.000); disiplin 1.680.000 already round.
    policy = load_policy({"precision": {"component": 1000}})
    payslip = compute_tpp(_employee(), _month(), policy)
    kinerja = _line(payslip, "kinerja")
    assert kinerja.amount == 2_160_000
    assert kinerja.rule.endswith("(Rp 2.159.892 rounded half up to a multiple of Rp 1.000) = Rp 2.160.000")
    assert payslip.gross == 2_160_000 + 1_680_000


@pytest.mark.parametrize("mode, deduction, gross", [
    # Job class 3 = 1.900.000: kinerja 60% x 100% = 1.140.000, disiplin 760.000; TL3 1,5% = 28.500.
    ("half_up", -29_000, 1_871_000),  # 28.500 -> 29.000 (half up, away from zero)
    ("down", -28_000, 1_872_000),     # 28.500 -> 28.000 (toward zero)
])
def test_deductions_rounded_to_a_thousand(mode, deduction, gross):
    policy = load_policy({"precision": {"deduction": 1000}, "rounding": {"mode": mode, "unit": 1}})
    day = DayFact(date(2026, 11, 3), "late", "TL3")
    payslip = compute_tpp(_employee(job_class=3), _month("100", (day,)), policy)
    line = _line(payslip, "TL3 late arrival")
    assert line.amount == deduction and "(-Rp 28.500 rounded" in line.rule
    assert payslip.gross == gross
    exact = compute_tpp(_employee(job_class=3), _month("100", (day,)), load_policy({}))
    assert (_line(exact, "TL3 late arrival").amount, exact.gross) == (-28_500, 1_871_500)


def test_a_bad_step_is_named_by_key():
    with pytest.raises(ValidationError) as caught:
        load_policy({"precision": {"score": "0.5", "component": -1}})
    assert set(caught.value.messages["precision"]) == {"score", "component"}


# --- pricing on the exact minutes ratio (score = "exact") ----------------------------------------------------------
# Surabaya, job class 8 = Rp 6.000.000: disiplin 30% = 1.800.000, aktivitas 45% = 2.700.000, lembur 5% = 300.000
# (60 h = 100%), skp 20% = 1.200.000 (target 100%).

def _surabaya(preset, score):
    policy = preset("surabaya")
    return replace(policy, precision=replace(policy.precision, **_precision(score)))


def _precision(score):
    loaded = load_policy({"precision": {"score": score}}).precision
    return {"score": loaded.score, "minutes": loaded.minutes}


def _minutes_month(published, credited, effective):
    return MonthFacts(2026, 11, Decimal(published), Decimal(100), Decimal(100), Decimal(60),
                      credited_minutes=credited, effective_minutes=effective)


def _earning(payslip):
    return [(line.description, line.amount) for line in payslip.lines if line.code == "component"]


def test_exact_prices_the_activity_component_on_the_minutes_ratio(preset):
    # 21 working days x 450 min = 9.450 effective; 8.100 credited. Scoring publishes 8.100 / 9.450 = 85,71%.
    month = _minutes_month("85.71", 8_100, 9_450)
    # received: 2.700.000 x 85,71% = 2.314.170; gross 1.800.000 + 2.314.170 + 300.000 + 1.200.000 = 5.614.170.
    received = compute_tpp(_employee(), month, preset("surabaya"))
    assert ("aktivitas", 2_314_170) in _earning(received) and received.gross == 5_614_170
    # exact: 2.700.000 x 8.100 / 9.450 = 2.700.000 x 6/7 = 2.314.285,714...; the earning lines sum to
    # 5.614.285,714... -> gross 5.614.286 (half up), the largest fraction (aktivitas, ,714) takes the rupiah.
    exact = compute_tpp(_employee(), month, _surabaya(preset, "exact"))
    assert _earning(exact) == [("disiplin", 1_800_000), ("aktivitas", 2_314_286), ("lembur", 300_000),
                               ("skp", 1_200_000)]
    assert exact.gross == 5_614_286  # Rp 116 more than the 0,01-rounded score pays
    aktivitas = _line(exact, "aktivitas")
    assert "× activity score 85,71% (exact: 8.100 ÷ 9.450 min)" in aktivitas.rule
    assert "8100 credited ÷ 9450 effective min" in aktivitas.evidence


def test_a_step_rounds_the_exact_ratio_once(preset):
    # 17.099 credited ÷ 20.000 effective = 85,495% exactly; scoring publishes 85,50% (half up).
    month = _minutes_month("85.50", 17_099, 20_000)
    # step 1% from the published 85,50% would be 86% (rounded twice); from the exact 85,495% it is 85%:
    # 2.700.000 x 85% = 2.295.000.
    aktivitas = _line(compute_tpp(_employee(), month, _surabaya(preset, "1")), "aktivitas")
    assert aktivitas.amount == 2_295_000
    assert "× activity score 85% (from 85,495%, rounded half up to a step of 1%)" in aktivitas.rule


def test_exact_without_minutes_or_with_a_capped_score_prices_the_published_score(preset):
    # A month scored before payroll kept the minutes: the published 85,71% (2.314.170), as "received".
    old = MonthFacts(2026, 11, Decimal("85.71"), Decimal(100), Decimal(100), Decimal(60))
    assert _line(compute_tpp(_employee(), old, _surabaya(preset, "exact")), "aktivitas").amount == 2_314_170
    # Scoring capped the score (published 100 < 10.000 / 9.450 = 105,82%): the cap is the figure; paid at 100%.
    assert minutes_ratio(_minutes_month("100", 10_000, 9_450)) is None
    capped = compute_tpp(_employee(), _minutes_month("100", 10_000, 9_450), _surabaya(preset, "exact"))
    assert _line(capped, "aktivitas").amount == 2_700_000
    # No effective minutes (a month of leave): scoring publishes 0, and so is it priced.
    assert minutes_ratio(_minutes_month("0", 0, 0)) is None


def test_received_is_the_default_and_exact_is_named():
    assert load_policy({}).precision == Precision(score=None, component=0, deduction=0, minutes=False)
    assert load_policy({"precision": {"score": "exact"}}).precision.minutes is True
    assert load_policy({"precision": {"score": "0.1"}}).precision == Precision(score=Decimal("0.1"), minutes=True)
