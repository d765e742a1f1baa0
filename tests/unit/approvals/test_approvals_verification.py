from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from approvals.domain import (
    ApprovalsPolicy,
    EntryState,
    InvalidVerification,
    MonthEntry,
    Verdict,
    VerificationPolicy,
    VerificationResult,
    can_close_month,
    counts_for_credit,
    is_locked,
    is_sampled,
    month_key,
    select_for_verification,
    verify,
)


@dataclass(frozen=True)
class DecisionRow:
    decision_id: str


DECISIONS = [DecisionRow(f"D-{n:04d}") for n in range(2000)]


@pytest.mark.parametrize("rate, count", [(Decimal(1), 2000), (Decimal(0), 0)])
def test_rate_one_takes_all_and_zero_takes_none(rate, count):
    assert len(select_for_verification(DECISIONS, rate, "2024-05/DISKOMINFO")) == count


def test_a_sample_is_reproducible_and_keeps_the_given_order():
    first = select_for_verification(DECISIONS, Decimal("0.1"), "2024-05/DISKOMINFO")
    again = select_for_verification(reversed(DECISIONS), Decimal("0.1"), "2024-05/DISKOMINFO")
    assert first == list(reversed(again))
    assert first == sorted(first, key=lambda d: d.decision_id)


@pytest.mark.parametrize("rate", [Decimal("0.05"), Decimal("0.1"), Decimal("0.5")])
def test_a_sample_is_close_to_the_rate(rate):
    share = Decimal(len(select_for_verification(DECISIONS, rate, "seed"))) / len(DECISIONS)
    assert abs(share - rate) < Decimal("0.03")


def test_another_seed_draws_another_sample():
    one = select_for_verification(DECISIONS, Decimal("0.1"), "2024-05/DISKOMINFO")
    other = select_for_verification(DECISIONS, Decimal("0.1"), "2024-06/DISKOMINFO")
    assert one != other


def test_a_decisions_draw_does_not_depend_on_the_others():
    sampled = select_for_verification(DECISIONS, Decimal("0.2"), "s")
    assert all(is_sampled(d.decision_id, Decimal("0.2"), "s") for d in sampled)
    assert select_for_verification(DECISIONS[:100], Decimal("0.2"), "s") == [d for d in sampled if d in DECISIONS[:100]]


@pytest.mark.parametrize(
    "state, verdict, result",
    [
        (EntryState.APPROVED, Verdict.UPHOLD, VerificationResult(EntryState.APPROVED, True)),
        (EntryState.REJECTED, Verdict.UPHOLD, VerificationResult(EntryState.REJECTED, True)),
        (EntryState.STRUCK, Verdict.UPHOLD, VerificationResult(EntryState.STRUCK, True)),
        (EntryState.APPROVED, Verdict.OVERTURN, VerificationResult(EntryState.REJECTED, False)),
        (EntryState.REJECTED, Verdict.OVERTURN, VerificationResult(EntryState.APPROVED, True)),
        (EntryState.STRUCK, Verdict.OVERTURN, VerificationResult(EntryState.APPROVED, True)),
    ],
)
def test_verdicts(state, verdict, result):
    assert verify(state, verdict, "foto tidak sesuai kegiatan") == result


@pytest.mark.parametrize(
    "state, verdict, reason, message",
    [
        (EntryState.APPROVED, Verdict.OVERTURN, " ", "reason is required"),
        (EntryState.SUBMITTED, Verdict.UPHOLD, "", "no decision to verify"),
        (EntryState.WITHDRAWN, Verdict.OVERTURN, "x", "no decision to verify"),
    ],
)
def test_impossible_verifications_are_refused(state, verdict, reason, message):
    with pytest.raises(InvalidVerification, match=message):
        verify(state, verdict, reason)


def verifying(required: bool) -> ApprovalsPolicy:
    return ApprovalsPolicy(verification=VerificationPolicy(Decimal("0.1"), required_before_credit=required))


@pytest.mark.parametrize(
    "state, verified, sampled, required, counts",
    [
        (EntryState.APPROVED, None, False, False, True),
        (EntryState.APPROVED, None, True, False, True),
        (EntryState.APPROVED, None, True, True, False),  # waits for the verifier
        (EntryState.APPROVED, None, False, True, True),  # not sampled: nothing to wait for
        (EntryState.APPROVED, True, True, True, True),
        (EntryState.REJECTED, False, True, False, False),  # an overturned approval
        (EntryState.APPROVED, False, True, False, False),
        (EntryState.SUBMITTED, None, False, False, False),
        (EntryState.STRUCK, True, True, True, False),
    ],
)
def test_what_counts_for_credit(state, verified, sampled, required, counts):
    assert counts_for_credit(state, verified, sampled, verifying(required)) is counts


@pytest.mark.parametrize(
    "entries, blocking",
    [
        ([MonthEntry("E1", EntryState.APPROVED, True, True), MonthEntry("E2", EntryState.APPROVED, None, False)], []),
        ([MonthEntry("E1", EntryState.REJECTED, None, False), MonthEntry("E2", EntryState.WITHDRAWN, None, False)],
         []),
        ([MonthEntry("E2", EntryState.SUBMITTED, None, False), MonthEntry("E1", EntryState.SUBMITTED, None, False)],
         ["awaiting a supervisor's decision: 2 (E1, E2)"]),
        ([MonthEntry("E1", EntryState.STRUCK, None, True)], ["awaiting verification: 1 (E1)"]),
        ([MonthEntry("E1", EntryState.SUBMITTED, None, False), MonthEntry("E2", EntryState.APPROVED, None, True)],
         ["decision: 1 (E1)", "verification: 1 (E2)"]),
        ([], []),
    ],
)
def test_what_blocks_closing_the_month(entries, blocking):
    reasons = can_close_month(entries)
    assert len(reasons) == len(blocking)
    assert all(part in reason for part, reason in zip(blocking, reasons))


@pytest.mark.parametrize(
    "local_date, locked",
    [(date(2024, 4, 30), True), (date(2024, 4, 1), True), (date(2024, 5, 1), False), (date(2023, 4, 15), False)],
)
def test_month_lock(local_date, locked):
    assert is_locked(local_date, {"2024-04", "2024-03"}) is locked


def test_month_key():
    assert month_key(date(2024, 1, 9)) == "2024-01"
