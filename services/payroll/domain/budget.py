"""TPP budget against what was paid, per unit (SKPD/OPD).

The budget is a ceiling, not a promise: when people do not perform, part of it stays unspent
(Belitung Timur: "the Rp10 billion will not necessarily be used up").
"""

from dataclasses import dataclass
from typing import Iterable, Mapping

from .tpp import WITHHOLDING_CODES, Payslip


@dataclass(frozen=True)
class UnitBudget:
    """One unit's planned budget, the allowance paid against it and what is left (negative: overspent)."""

    unit_id: str
    planned: int
    paid: int
    unspent: int


def allowance_cost(payslip: Payslip) -> int:
    """What a payslip costs the budget: the net plus what was withheld from it (tax and contributions)."""
    return sum(line.amount for line in payslip.lines if line.code not in WITHHOLDING_CODES)


def budget_report(budget_by_unit: Mapping[str, int], payslips: Iterable[Payslip]) -> list[UnitBudget]:
    """Planned, paid and unspent per unit, for every unit with a budget or a payslip, ordered by unit."""
    paid: dict[str, int] = {}
    for payslip in payslips:
        paid[payslip.unit_id] = paid.get(payslip.unit_id, 0) + allowance_cost(payslip)
    report = []
    for unit in sorted(set(budget_by_unit) | set(paid)):
        planned, spent = budget_by_unit.get(unit, 0), paid.get(unit, 0)
        report.append(UnitBudget(unit, planned, spent, planned - spent))
    return report
