"""The payroll run lifecycle: draft → reviewed → approved → paid, and corrections after approval.

A draft may be recomputed as often as needed (the same facts give the same content hash); a reviewer
may send it back to draft. Approved and paid runs never change: a correction is recomputed aside and its
difference becomes an `Adjustment` on exactly one later payslip, in the run `landing_month` names.
"""

import calendar
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Iterable

from .policy import PayrollPolicy
from .tpp import MONTH_NAMES, Adjustment, Payslip, format_rupiah


class RunState(StrEnum):
    """Where a monthly payroll run stands."""

    DRAFT = "draft"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    PAID = "paid"


TRANSITIONS = {
    RunState.DRAFT: frozenset({RunState.REVIEWED}),
    RunState.REVIEWED: frozenset({RunState.APPROVED, RunState.DRAFT}),
    RunState.APPROVED: frozenset({RunState.PAID}),
    RunState.PAID: frozenset(),
}


class RunStateError(ValueError):
    """A run was asked to do what its state forbids."""


@dataclass(frozen=True)
class Correction:
    """A late change to an employee's facts for a past month (e.g. leave registered after the run)."""

    employee_id: str
    year: int
    month: int
    reason: str


def advance(state: RunState, target: RunState) -> RunState:
    """Move a run to `target`, or raise `RunStateError` if the lifecycle does not allow it."""
    if target not in TRANSITIONS[RunState(state)]:
        raise RunStateError(f"a {state} run cannot become {target}")
    return RunState(target)


def can_recompute(state: RunState) -> bool:
    """Only a draft run may be recomputed; approved and paid runs never change."""
    return RunState(state) is RunState.DRAFT


def content_hash(payslips: Iterable[Payslip]) -> str:
    """SHA-256 of the run's canonical JSON (payslips ordered by employee, keys sorted)."""
    # The same document as `dataclasses.asdict` gives, built without its deep copies (runs hold 50,000 payslips).
    canonical = sorted((_plain(p) for p in payslips), key=lambda p: (p["employee_id"], p["year"], p["month"]))
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(payslip: Payslip) -> dict:
    # A frozen dataclass without slots keeps its fields in `__dict__`: the same keys `fields()` lists, for less.
    document = dict(vars(payslip))
    document["lines"] = [vars(line) for line in payslip.lines]
    return document


def adjustment_for(correction: Correction, approved_payslip: Payslip, recomputed_payslip: Payslip) -> Adjustment:
    """The net difference a correction makes to an approved month, to be paid (or recovered) next month."""
    for payslip in (approved_payslip, recomputed_payslip):
        if (payslip.employee_id, payslip.year, payslip.month) != (
            correction.employee_id, correction.year, correction.month
        ):
            raise ValueError(f"payslip of {payslip.employee_id} {payslip.year}-{payslip.month:02d} "
                             f"does not match the correction")
    period = f"{MONTH_NAMES[correction.month]} {correction.year}"
    description = (
        f"correction of {period} ({correction.reason}): net {format_rupiah(approved_payslip.net)} "
        f"→ {format_rupiah(recomputed_payslip.net)}"
    )
    return Adjustment(description, recomputed_payslip.net - approved_payslip.net)


def _next_month(year_month: tuple[int, int]) -> tuple[int, int]:
    year, month = year_month
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _cutoff(run_month: tuple[int, int], policy: PayrollPolicy) -> date:
    year, month = run_month
    return date(year, month, min(policy.correction_cutoff_day, calendar.monthrange(year, month)[1]))


def correction_deadline(source_month: tuple[int, int], policy: PayrollPolicy) -> date:
    """The cut-off for carrying a correction of `source_month` into the next month's run: that month's cut-off day."""
    return _cutoff(_next_month(source_month), policy)


def landing_month(source_month: tuple[int, int], received_on: date, policy: PayrollPolicy) -> tuple[int, int]:
    """The month whose run pays a correction of `source_month` received on `received_on` (local date).

    By the cut-off day of the next month it goes into that month's run. After it, the policy decides:
    `next_run` carries it into the first run whose cut-off it makes (this month's, or next month's when this
    month's cut-off has passed); `run_after_next` into the run after that one. It never goes unpaid.
    """
    first = _next_month(source_month)
    if received_on <= _cutoff(first, policy):
        return first
    received = (received_on.year, received_on.month)
    landing = received if received_on <= _cutoff(received, policy) else _next_month(received)
    return _next_month(landing) if policy.after_cutoff == "run_after_next" else landing
