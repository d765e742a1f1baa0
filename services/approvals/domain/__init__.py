"""Pure rules of the approvals service: decisions, deadlines and escalation, verification, month close, audit.

Nothing here reads the clock or the directory: `today` (a local date), the approver resolved from the
directory (direct supervisor, acting *Plt*, or a head of unit's superior), closed months and the policy
are passed in.

Policy (`policy.py`, the `[approvals]` table of the regional TOML file):
    load_policy(section: dict) -> ApprovalsPolicy            raises marshmallow.ValidationError
    ApprovalsPolicy(decision_deadline: DecisionDeadline, escalation_step_days: int, verification: VerificationPolicy)
    DecisionDeadline(mode: DeadlineMode, weekday: int (0 = Monday), days: int, period_anchor: date)
    DeadlineMode: weekly | biweekly | days;  VerificationPolicy(rate: Decimal, required_before_credit: bool)

States (`states.py`): EntryState: submitted, approved, rejected, struck (*dicoret*, final), withdrawn

Decisions (`decisions.py`):
    Decision.approve() | .reject(reason) | .strike(reason) | .set_minutes(minutes);  DecisionKind
    EntryUnderDecision(entry_id, employee_id, local_date, state, duration_minutes, free_description,
                       approver_id, escalation_target_id=None)
    can_decide(decider_id, entry_owner_id, approver_id, escalation_target_id=None) -> bool
    decide(entry, decision, decider_id, closed_months) -> DecisionOutcome
    decide_many(entries, decision, decider_id, closed_months) -> list[DecisionOutcome]   (each on its own)
    DecisionOutcome(entry_id, ok, state, accepted_minutes=None, errors=())

Deadlines (`deadlines.py`):
    due_at(entry_local_date, policy) -> date
    escalation_level(entry_local_date, today, policy) -> int       (0 = own approver, 1 = next up, ...)
    escalation_target(approver_chain, level) -> str                (chain[0] is the approver; the top stays)
    timeliness(decided_on, due) -> Timeliness(on_time, days_late)

Verification (`verification.py`):
    is_sampled(decision_id, rate, seed) -> bool
    select_for_verification(decisions with .decision_id, rate: Decimal, seed: str) -> list (same order)
    verify(decision_state, verdict: Verdict, reason="") -> VerificationResult(state, verified)
                                                                   raises InvalidVerification
    counts_for_credit(state, verified, sampled, policy) -> bool
    overlapping_claims(start_at, end_at, others) -> [entry_id]      (an overturn over claimed minutes is refused)

Months (`months.py`):
    month_key(local_date) -> "YYYY-MM";  is_locked(local_date, closed_months) -> bool
    can_close_month(entries: Iterable[MonthEntry]) -> list[str]    (reasons; empty = may close)
    too_early_to_close(first_day, zones, now, from_local_time=None) -> str | None   (the month has not ended)
    close_opens_at(first_day, zones, from_local_time=None) -> (instant, deciding zone)
    MonthEntry(entry_id, state, verified, sampled)

Audit (`audit.py`):
    audit_record(actor, action, entity, before, after, at) -> dict with keys AUDIT_KEYS
"""

from .audit import AUDIT_KEYS, audit_record
from .deadlines import Timeliness, due_at, escalation_level, escalation_target, timeliness
from .decisions import (
    Decision,
    DecisionKind,
    DecisionOutcome,
    EntryUnderDecision,
    can_decide,
    decide,
    decide_many,
)
from .months import MonthEntry, can_close_month, close_opens_at, is_locked, month_key, too_early_to_close
from .policy import ApprovalsPolicy, DeadlineMode, DecisionDeadline, VerificationPolicy, load_policy
from .states import EntryState
from .verification import (
    InvalidVerification,
    Verdict,
    VerificationResult,
    counts_for_credit,
    is_sampled,
    overlapping_claims,
    select_for_verification,
    verify,
)

__all__ = [
    "AUDIT_KEYS",
    "ApprovalsPolicy",
    "DeadlineMode",
    "Decision",
    "DecisionDeadline",
    "DecisionKind",
    "DecisionOutcome",
    "EntryState",
    "EntryUnderDecision",
    "InvalidVerification",
    "MonthEntry",
    "Timeliness",
    "Verdict",
    "VerificationPolicy",
    "VerificationResult",
    "audit_record",
    "can_close_month",
    "close_opens_at",
    "too_early_to_close",
    "can_decide",
    "counts_for_credit",
    "overlapping_claims",
    "decide",
    "decide_many",
    "due_at",
    "escalation_level",
    "escalation_target",
    "is_locked",
    "is_sampled",
    "load_policy",
    "month_key",
    "select_for_verification",
    "timeliness",
    "verify",
]
