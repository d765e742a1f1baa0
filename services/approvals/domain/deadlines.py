"""When a supervisor must decide an entry, who takes over when they do not, and how late they were."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .policy import ApprovalsPolicy, DeadlineMode

PERIOD_DAYS = 14


@dataclass(frozen=True)
class Timeliness:
    """A decision's punctuality, for the supervisor's record."""

    on_time: bool
    days_late: int


def _period_start(day: date, anchor: date) -> date:
    return day - timedelta(days=(day - anchor).days % PERIOD_DAYS)


def due_at(entry_local_date: date, policy: ApprovalsPolicy) -> date:
    """Last local date on which the entry's decision is on time."""
    deadline = policy.decision_deadline
    if deadline.mode == DeadlineMode.WEEKLY:
        monday = entry_local_date - timedelta(days=entry_local_date.weekday())
        return monday + timedelta(days=7 + deadline.weekday)
    if deadline.mode == DeadlineMode.BIWEEKLY:
        period_end = _period_start(entry_local_date, deadline.period_anchor) + timedelta(days=PERIOD_DAYS - 1)
        return period_end + timedelta(days=deadline.days)
    return entry_local_date + timedelta(days=deadline.days)


def escalation_level(entry_local_date: date, today: date, policy: ApprovalsPolicy) -> int:
    """0 while the own supervisor is on time; then one level up the chain every escalation step."""
    overdue = (today - due_at(entry_local_date, policy)).days
    if overdue <= 0:
        return 0
    return 1 + (overdue - 1) // policy.escalation_step_days


def escalation_target(approver_chain: Sequence[str], level: int) -> str:
    """Who decides at `level`: approver_chain[0] is the entry's approver, then their superiors; the top stays."""
    return approver_chain[min(level, len(approver_chain) - 1)]


def timeliness(decided_on: date, due: date) -> Timeliness:
    """Whether a decision taken on `decided_on` met `due`, and by how many days it missed it."""
    days_late = max(0, (decided_on - due).days)
    return Timeliness(on_time=days_late == 0, days_late=days_late)
