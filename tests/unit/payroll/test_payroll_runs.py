"""Payroll runs: the lifecycle, the content hash, corrections after approval and the cut-off day."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from payroll.domain.policy import load_policy
from payroll.domain.runs import (
    Correction,
    RunState,
    RunStateError,
    adjustment_for,
    advance,
    can_recompute,
    content_hash,
    landing_month,
)
from payroll.domain.tpp import DayFact, EmployeeFacts, MonthFacts, compute_tpp

NATIONAL = load_policy({})
SITI = EmployeeFacts("198503152010011002", "Siti Aminah", "DISKOMINFO", 8, None, "PNS", None, "II/a")
BUDI = EmployeeFacts("199001012015031001", "Budi Santoso", "BAPPEDA", 5, None, "PPPK", None, "III/b")


def month(year, number, days=(), adjustments=()):
    return MonthFacts(year, number, Decimal("92.5"), days=days, adjustments=adjustments)


def run(days=()):
    return [compute_tpp(SITI, month(2026, 11, days), NATIONAL), compute_tpp(BUDI, month(2026, 11), NATIONAL)]


@pytest.mark.parametrize("state, target, allowed", [
    (RunState.DRAFT, RunState.REVIEWED, True),
    (RunState.REVIEWED, RunState.APPROVED, True),
    (RunState.REVIEWED, RunState.DRAFT, True),
    (RunState.APPROVED, RunState.PAID, True),
    (RunState.DRAFT, RunState.APPROVED, False),
    (RunState.DRAFT, RunState.PAID, False),
    (RunState.APPROVED, RunState.DRAFT, False),
    (RunState.PAID, RunState.DRAFT, False),
    (RunState.PAID, RunState.APPROVED, False),
])
def test_lifecycle(state, target, allowed):
    if allowed:
        assert advance(state, target) is target
    else:
        with pytest.raises(RunStateError):
            advance(state, target)


@pytest.mark.parametrize("state, allowed", [
    (RunState.DRAFT, True), (RunState.REVIEWED, False), (RunState.APPROVED, False), (RunState.PAID, False),
])
def test_only_a_draft_is_recomputed(state, allowed):
    assert can_recompute(state) is allowed


def test_recomputing_the_same_facts_gives_the_same_hash_in_any_order():
    first = content_hash(run())

    assert content_hash(run()) == first
    assert content_hash(reversed(run())) == first
    assert len(first) == 64


@pytest.mark.parametrize("changed", [
    lambda payslips: run([DayFact(date(2026, 11, 3), "late", "TL1")]),
    lambda payslips: [replace(payslips[0], name="Siti Aminah, S.Kom."), payslips[1]],
    lambda payslips: payslips[:1],
])
def test_any_change_changes_the_hash(changed):
    payslips = run()

    assert content_hash(changed(payslips)) != content_hash(payslips)


def test_a_correction_after_approval_is_paid_as_the_difference_next_month():
    tk = [DayFact(date(2026, 10, 5), "absent")]
    leave = [DayFact(date(2026, 10, 5), "leave", absence_kind="leave")]
    approved = compute_tpp(SITI, month(2026, 10, tk), NATIONAL)
    recomputed = compute_tpp(SITI, month(2026, 10, leave), NATIONAL)
    correction = Correction(SITI.employee_id, 2026, 10, "leave registered late")

    adjustment = adjustment_for(correction, approved, recomputed)

    # kinerja 2.520.000 × 92,5% = 2.331.000 + disiplin 1.680.000 = 4.011.000
    # approved: − TK 126.000 = 3.885.000, BPJS 1% 38.850 → 3.846.150; recomputed: BPJS 40.110 → 3.970.890
    # difference 3.970.890 − 3.846.150 = 124.740
    assert adjustment.amount == 124_740
    assert adjustment.description == (
        "correction of October 2026 (leave registered late): net Rp 3.846.150 → Rp 3.970.890"
    )
    december = compute_tpp(SITI, month(2026, 12, adjustments=[adjustment]), NATIONAL)
    # 4.011.000 − BPJS 40.110 + 124.740
    assert december.net == 4_095_630


def test_an_adjustment_needs_the_payslips_of_the_corrected_month():
    november = compute_tpp(SITI, month(2026, 11), NATIONAL)

    with pytest.raises(ValueError, match="does not match"):
        adjustment_for(Correction(SITI.employee_id, 2026, 10, "late leave"), november, november)


@pytest.mark.parametrize("cutoff_day, after_cutoff, source, received_on, lands", [
    (10, "next_run", (2026, 11), date(2026, 11, 20), (2026, 12)),    # before November's run: December's run
    (10, "next_run", (2026, 11), date(2026, 12, 10), (2026, 12)),    # on the cut-off day
    (10, "next_run", (2026, 11), date(2026, 12, 11), (2027, 1)),     # the day after: January's run
    (10, "run_after_next", (2026, 11), date(2026, 12, 11), (2027, 2)),  # ... or the one after, by policy
    (10, "run_after_next", (2026, 11), date(2026, 12, 9), (2026, 12)),  # on time whatever the policy
    (10, "next_run", (2026, 11), date(2027, 3, 4), (2027, 3)),       # months late: the next cut-off it makes
    (5, "next_run", (2026, 11), date(2026, 12, 6), (2027, 1)),       # a region with the 5th as cut-off
    (10, "next_run", (2026, 12), date(2027, 1, 10), (2027, 1)),      # December's run closes in January
    (31, "next_run", (2027, 1), date(2027, 2, 28), (2027, 2)),       # the 31st means February's last day
    (31, "next_run", (2027, 1), date(2027, 3, 1), (2027, 3)),
])
def test_where_a_correction_lands(cutoff_day, after_cutoff, source, received_on, lands):
    policy = load_policy({"correction_cutoff_day": cutoff_day, "after_cutoff": after_cutoff})

    assert landing_month(source, received_on, policy) == lands
