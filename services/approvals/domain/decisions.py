"""Supervisor decisions on activity entries: who may decide, and what each decision does."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .months import is_locked
from .states import EntryState


class DecisionKind(StrEnum):
    """approve; reject (staff may revise); strike (*coret*: final); set_minutes (credit for a free description)."""

    APPROVE = "approve"
    REJECT = "reject"
    STRIKE = "strike"
    SET_MINUTES = "set_minutes"


@dataclass(frozen=True)
class Decision:
    """What the supervisor decided; build it with Decision.approve(), .reject(reason), .strike(reason),
    .set_minutes(minutes)."""

    kind: DecisionKind
    reason: str = ""
    minutes: int | None = None

    @classmethod
    def approve(cls) -> "Decision":
        """The work is accepted and credits its minutes."""
        return cls(DecisionKind.APPROVE)

    @classmethod
    def reject(cls, reason: str) -> "Decision":
        """The entry goes back to staff, who may revise it."""
        return cls(DecisionKind.REJECT, reason=reason)

    @classmethod
    def strike(cls, reason: str) -> "Decision":
        """The entry is *dicoret*: it did not contribute to the unit and can never count."""
        return cls(DecisionKind.STRIKE, reason=reason)

    @classmethod
    def set_minutes(cls, minutes: int) -> "Decision":
        """The minutes a free-description entry (no catalogue item) is worth."""
        return cls(DecisionKind.SET_MINUTES, minutes=minutes)


@dataclass(frozen=True)
class EntryUnderDecision:
    """An entry awaiting a decision, with the people the caller resolved from the directory.

    approver_id is the direct supervisor, or the acting one (*Plt*), or for a head of unit their superior;
    escalation_target_id is who the entry escalated to once overdue (None while on time).
    """

    entry_id: str
    employee_id: str
    local_date: date
    state: EntryState
    duration_minutes: int
    free_description: bool
    approver_id: str
    escalation_target_id: str | None = None


@dataclass(frozen=True)
class DecisionOutcome:
    """The result of one decision on one entry: the entry's resulting state, or why it was refused."""

    entry_id: str
    ok: bool
    state: EntryState
    accepted_minutes: int | None = None
    errors: tuple[str, ...] = ()


_RESULT = {
    DecisionKind.APPROVE: EntryState.APPROVED,
    DecisionKind.REJECT: EntryState.REJECTED,
    DecisionKind.STRIKE: EntryState.STRUCK,
    DecisionKind.SET_MINUTES: EntryState.SUBMITTED,
}


def _authority_error(
    decider_id: str, entry_owner_id: str, approver_id: str, escalation_target_id: str | None
) -> str | None:
    if decider_id == entry_owner_id:
        return "nobody decides on their own work"
    if decider_id not in (approver_id, escalation_target_id):
        return "only the entry's approver, or after the deadline the person it escalated to, may decide"
    return None


def can_decide(decider_id: str, entry_owner_id: str, approver_id: str, escalation_target_id: str | None = None) -> bool:
    """Whether this person may decide this entry: never its owner; its approver, or the escalation target."""
    return _authority_error(decider_id, entry_owner_id, approver_id, escalation_target_id) is None


def _decision_errors(entry: EntryUnderDecision, decision: Decision) -> list[str]:
    errors = []
    if entry.state != EntryState.SUBMITTED:
        errors.append(f"the entry is {entry.state}; only a submitted entry can be decided")
    if decision.kind in (DecisionKind.REJECT, DecisionKind.STRIKE) and not decision.reason.strip():
        errors.append(f"a reason is required to {decision.kind}")
    if decision.kind == DecisionKind.SET_MINUTES:
        if not entry.free_description:
            errors.append("minutes are set only for a free description; a catalogue item credits its norm")
        elif decision.minutes is None or not 0 <= decision.minutes <= entry.duration_minutes:
            errors.append(f"minutes must be between 0 and the entry's duration ({entry.duration_minutes})")
    return errors


def decide(
    entry: EntryUnderDecision, decision: Decision, decider_id: str, closed_months: Collection[str]
) -> DecisionOutcome:
    """Apply one decision to one entry, or refuse it with every reason (closed_months as "YYYY-MM")."""
    authority = _authority_error(decider_id, entry.employee_id, entry.approver_id, entry.escalation_target_id)
    errors = [authority] if authority else []
    if is_locked(entry.local_date, closed_months):
        errors.append("the entry's month is closed")
    errors += _decision_errors(entry, decision)
    if errors:
        return DecisionOutcome(entry.entry_id, ok=False, state=entry.state, errors=tuple(errors))
    minutes = decision.minutes if decision.kind == DecisionKind.SET_MINUTES else None
    return DecisionOutcome(entry.entry_id, ok=True, state=_RESULT[decision.kind], accepted_minutes=minutes)


def decide_many(
    entries: Iterable[EntryUnderDecision], decision: Decision, decider_id: str, closed_months: Collection[str]
) -> list[DecisionOutcome]:
    """Apply one decision to a selection of entries; each succeeds or fails on its own."""
    return [decide(entry, decision, decider_id, closed_months) for entry in entries]
