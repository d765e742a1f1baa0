"""TPP rules that hold whatever the region: the payslip text, the minimum, overtime, caps and exact rounding."""

from datetime import date
from decimal import Decimal

import pytest

from payroll.domain.policy import load_policy
from payroll.domain.tpp import (
    EARNING_CODES,
    ActiveSanction,
    Adjustment,
    DayFact,
    EmployeeFacts,
    MonthFacts,
    compute_tpp,
    format_rupiah,
    missing_figures,
)

ALL_CLASSES = range(1, 18)


def staff(status="PNS", sanction=None, grade="III/a", job_class=8, position=None):
    return EmployeeFacts(
        "198503152010011002", "Siti Aminah", "DISKOMINFO", job_class, position, status, sanction, grade
    )


def november(days=(), activity="100", target=None, overtime=None, adjustments=()):
    return MonthFacts(
        2026, 11, Decimal(activity), None if target is None else Decimal(target), None,
        None if overtime is None else Decimal(overtime), days, adjustments,
    )


def late(day, band=None, early=None):
    return DayFact(date(2026, 11, day), "late", band, early)


def tk_days(count):
    return [DayFact(date(2026, 11, d), "absent") for d in range(1, 31) if date(2026, 11, d).weekday() < 5][:count]


def line(payslip, code, nth=0):
    return [entry for entry in payslip.lines if entry.code == code][nth]


@pytest.mark.parametrize("amount, text", [
    (0, "Rp 0"),
    (999, "Rp 999"),
    (1_000, "Rp 1.000"),
    (4_200_000, "Rp 4.200.000"),
    (10_000_000_000, "Rp 10.000.000.000"),
    (-42_000, "-Rp 42.000"),
    (Decimal("1234.5"), "Rp 1.235"),
])
def test_format_rupiah(amount, text):
    assert format_rupiah(amount) == text


TEXT_CASES = [
    ("national", staff(), november([late(3, "TL2")], activity="85.5"), "component", 0,
     "kinerja: 60% of Rp 4.200.000 (job class 8) × activity score 85,5% = Rp 2.154.600",
     "activity score 85,5% in November 2026"),
    ("national", staff(), november([late(3, "TL2")]), "discipline", 0,
     "TL2 on 3 November 2026: 1% of Rp 4.200.000 = Rp 42.000",
     "attendance 2026-11-03: status late, late band TL2"),
    ("national", staff(), november([late(4, early="PSW1")]), "discipline", 0,
     "PSW1 on 4 November 2026: 0,5% of Rp 4.200.000 = Rp 21.000",
     "attendance 2026-11-04: status late, early band PSW1"),
    ("belitung_timur", staff(), november(tk_days(1)), "discipline", 0,
     "TK on 2 November 2026: 4% of Rp 1.440.000 (disiplin) = Rp 57.600",
     "attendance 2026-11-02: status absent"),
    ("national", staff("CPNS"), november(), "component", 0,
     "kinerja: 60% of Rp 3.360.000 (job class 8 Rp 4.200.000 × CPNS 80%) × activity score 100% = Rp 2.016.000",
     "activity score 100% in November 2026"),
    ("national", staff(), november(activity="112"), "component", 0,
     "kinerja: 60% of Rp 4.200.000 (job class 8) × activity score 100% (capped from 112%) = Rp 2.520.000",
     "activity score 112% in November 2026"),
    ("national", staff(sanction=ActiveSanction("light", 2)), november(), "sanction", 0,
     "light sanction, month 2: 30% of Rp 4.200.000 = Rp 1.260.000",
     "active disciplinary sanction: light, month 2 of its term"),
    ("banda_aceh", staff(), november(tk_days(11)), "discipline_cap", 0,
     "discipline deductions Rp 990.000 capped at 30% of Rp 3.000.000 (Rp 900.000): returned = Rp 90.000",
     "11 deduction lines this month"),
    ("national", staff(), november(tk_days(21), activity="0"), "discipline_cap", 0,
     "discipline deductions Rp 2.646.000 capped at the earned Rp 1.680.000: returned = Rp 966.000",
     "21 deduction lines this month"),
    ("banda_aceh", staff("CPNS", job_class=1), november(activity="60"), "minimum", 0,
     "minimum TPP Rp 1.200.000 (gross) − earned Rp 691.200 = Rp 508.800",
     "no active sanction; activity score 60% ≥ 50%; job class 1 ≤ 7"),
    ("national", staff(), november([late(3, "TL2")], activity="85.5"), "tax", 0,
     "PPh 21 5% of Rp 3.792.600 = Rp 189.630", "grade III/a"),
    ("national", staff(job_class=17), november(), "contribution", 0,
     "BPJS Kesehatan 1% of Rp 12.000.000 = Rp 120.000", "gross Rp 22.000.000, ceiling Rp 12.000.000"),
    ("banda_aceh", staff(), november([late(3, "TL1")], activity="77.77"), "rounding", 0,
     "net Rp 2.367.081 rounded down to a multiple of Rp 1.000 (Rp 2.367.000): difference = -Rp 81",
     "policy rounding"),
    ("national", staff(), november(adjustments=[Adjustment("correction of October 2026 (leave)", -5_000)]),
     "adjustment", 0, "correction of October 2026 (leave) = -Rp 5.000", "carried from an approved earlier run"),
]


@pytest.mark.parametrize("region, employee, month, code, nth, rule, evidence", TEXT_CASES)
def test_every_line_explains_itself(preset, region, employee, month, code, nth, rule, evidence):
    entry = line(compute_tpp(employee, month, preset(region)), code, nth)

    assert (entry.rule, entry.evidence) == (rule, evidence)


MINIMUM_CASES = [
    # CPNS class 1: 80% × 1.200.000 = 960.000; kinerja 672.000 × 60% = 403.200 + disiplin 288.000 = 691.200
    # → top-up 508.800
    (staff("CPNS", job_class=1), november(activity="60"), 508_800, 1_200_000),
    # exactly the qualifying score 50: 840.000 × 50% + 360.000 = 780.000 → top-up 420.000
    (staff(job_class=1), november(activity="50"), 420_000, 1_200_000),
    # 5 TK × 3% × 1.200.000 = 180.000 off 1.200.000 → 1.020.000 → top-up 180.000
    (staff(job_class=1), november(tk_days(5)), 180_000, 1_200_000),
    # score 40 < 50: 840.000 × 40% + 360.000 = 696.000, no top-up
    (staff(job_class=1), november(activity="40"), None, 696_000),
    # light sanction month 1: (504.000 + 360.000) × 80% = 691.200, a sanction bars the top-up
    (staff(job_class=1, sanction=ActiveSanction("light", 1)), november(activity="60"), None, 691_200),
    # class 8 earns 2.100.000 × 60% + 900.000 = 2.160.000, above the minimum
    (staff(), november(activity="60"), None, 2_160_000),
]


@pytest.mark.parametrize("employee, month, top_up, gross", MINIMUM_CASES)
def test_banda_aceh_minimum_only_for_qualifying_staff(preset, employee, month, top_up, gross):
    payslip = compute_tpp(employee, month, preset("banda_aceh"))

    assert [entry.amount for entry in payslip.lines if entry.code == "minimum"] == ([top_up] if top_up else [])
    assert payslip.gross == gross


@pytest.mark.parametrize("hours, lembur", [
    ("0", 228_000),    # minimum 76% × 300.000
    ("45", 228_000),   # 45 ÷ 60 = 75% < 76%
    ("48", 240_000),   # 48 ÷ 60 = 80%
    ("60", 300_000),   # 100%
    ("75", 300_000),   # capped at 100%
])
def test_surabaya_overtime_score(preset, hours, lembur):
    payslip = compute_tpp(staff(), november(target="100", overtime=hours), preset("surabaya"))

    assert [entry.amount for entry in payslip.lines if entry.description == "lembur"] == [lembur]


def test_lines_add_up_exactly_where_rounding_each_line_would_not():
    policy = load_policy({
        "base_amounts": {str(c): 1_000_001 for c in ALL_CLASSES},
        "components": [{"name": "a", "weight": 50, "source": "activity_score"},
                       {"name": "b", "weight": 50, "source": "target"}],
        "tax": {"percent_by_grade": {}},
        "contributions": [],
    })

    payslip = compute_tpp(staff(), november(target="100"), policy)

    # 500.000,5 + 500.000,5 = 1.000.001; each rounded half up would make 1.000.002
    assert [entry.amount for entry in payslip.lines] == [500_001, 500_000]
    assert payslip.gross == payslip.net == 1_000_001


def test_position_override_replaces_the_job_class_amount():
    policy = load_policy({"position_overrides": {"KADIS-DISKOMINFO": 9_000_000}})

    payslip = compute_tpp(staff(job_class=12, position="KADIS-DISKOMINFO"), november(), policy)

    # 60% and 40% of 9.000.000 instead of class 12's 8.600.000
    assert [entry.amount for entry in payslip.lines if entry.code in EARNING_CODES] == [5_400_000, 3_600_000]
    assert "(position KADIS-DISKOMINFO)" in payslip.lines[0].rule


def test_adjustments_are_paid_after_withholdings():
    month = november(adjustments=[Adjustment("correction of October 2026", 124_740)])

    payslip = compute_tpp(staff(grade="II/a"), month, load_policy({}))

    # gross 4.200.000, PPh 21 0%, BPJS 1% = 42.000, + 124.740 = 4.282.740
    assert (payslip.gross, payslip.net) == (4_200_000, 4_282_740)


@pytest.mark.parametrize("employee, month, message", [
    (staff(job_class=18), november(), "job class 18"),
    (staff(grade="IX"), november(), "grade 'IX'"),
])
def test_facts_the_policy_cannot_price_are_refused(employee, month, message):
    with pytest.raises(ValueError, match=message):
        compute_tpp(employee, month, load_policy({}))


def test_a_component_without_its_figure_is_unpaid_with_who_must_act(preset):
    # Surabaya, class 8 = Rp 6.000.000: skp 20% = 1.200.000 unpaid while no target score exists;
    # disiplin 1.800.000 + aktivitas 2.700.000 + lembur 300.000 (60 h) = 4.800.000 gross.
    payslip = compute_tpp(staff(), november(overtime="60"), preset("surabaya"))

    skp = [entry for entry in payslip.lines if entry.description == "skp"][0]
    assert skp.amount == 0 and payslip.gross == 4_800_000
    assert "0% paid while the target achievement is missing" in skp.rule
    assert "no target achievement for November 2026" in skp.evidence and "supervisor" in skp.evidence
    assert [m.component for m in missing_figures(november(overtime="60"), preset("surabaya"))] == ["skp"]


def test_a_policy_may_pay_a_missing_component_at_a_default_percent():
    policy = load_policy({"components": [
        {"name": "kinerja", "weight": 60, "source": "activity_score"},
        {"name": "perilaku", "weight": 40, "source": "behaviour", "when_missing_percent": 50}]})

    payslip = compute_tpp(staff(), november(), policy)

    # class 8 = Rp 4.200.000: kinerja 60% × 100% = 2.520.000; perilaku 40% = 1.680.000 × 50% = 840.000
    assert [entry.amount for entry in payslip.lines if entry.code == "component"] == [2_520_000, 840_000]
    assert "50% paid while the behaviour score is missing" in payslip.lines[1].rule


