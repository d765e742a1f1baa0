"""Precision is policy ([payroll.precision]): the step of the score, of each component and of each deduction,
shown on the payslip line. National policy: job class 8 = Rp 4.200.000, kinerja 60 / disiplin 40."""
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from payroll.domain.policy import load_policy
from payroll.domain.tpp import DayFact, EmployeeFacts, MonthFacts, compute_tpp


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
