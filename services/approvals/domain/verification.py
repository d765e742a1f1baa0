"""Verification by the independent assessment unit (*unit penilaian independen*): which decisions it checks,
and what its verdict does to the entry."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, TypeVar

from .policy import ApprovalsPolicy
from .states import DECIDED_STATES, EntryState


class Verdict(StrEnum):
    """The verifier either upholds the supervisor's decision or overturns it."""

    UPHOLD = "uphold"
    OVERTURN = "overturn"


@dataclass(frozen=True)
class VerificationResult:
    """The entry after verification: its state, and `verified` (False only when an approval was overturned)."""

    state: EntryState
    verified: bool


class InvalidVerification(ValueError):
    """A verification that cannot apply; the message says why."""


class HasDecisionId(Protocol):
    """Anything that names the decision it stands for."""

    decision_id: str


D = TypeVar("D", bound=HasDecisionId)

_DRAW_SPACE = 2**64


def is_sampled(decision_id: str, rate: Decimal, seed: str) -> bool:
    """Whether this decision falls in the verification sample: a reproducible draw from hashing seed and id.

    Each decision is drawn on its own, so it can be sampled the moment it is made and later decisions never
    change earlier draws; the sample's share is therefore close to `rate`, not exactly it.
    """
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{seed}\x00{decision_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < rate * _DRAW_SPACE


def select_for_verification(decisions: Iterable[D], rate: Decimal, seed: str) -> list[D]:
    """The decisions to verify, in their given order: all when rate is 1, none when 0, else a reproducible sample."""
    return [decision for decision in decisions if is_sampled(decision.decision_id, rate, seed)]


def verify(decision_state: EntryState, verdict: Verdict, reason: str = "") -> VerificationResult:
    """The entry's state after the verifier's verdict on its decision; overturning needs a reason.

    Overturning an approval makes the entry rejected (it credits nothing, verified False); overturning a
    rejection or a strike makes it approved (verified True).
    """
    if decision_state not in DECIDED_STATES:
        raise InvalidVerification(f"a {decision_state} entry has no decision to verify")
    if verdict == Verdict.UPHOLD:
        return VerificationResult(EntryState(decision_state), verified=True)
    if not reason.strip():
        raise InvalidVerification("a reason is required to overturn a decision")
    if decision_state == EntryState.APPROVED:
        return VerificationResult(EntryState.REJECTED, verified=False)
    return VerificationResult(EntryState.APPROVED, verified=True)


def counts_for_credit(state: EntryState, verified: bool | None, sampled: bool, policy: ApprovalsPolicy) -> bool:
    """Whether an entry's minutes may be credited: approved, not overturned, and verified when it was sampled
    in a region that verifies before crediting."""
    if state != EntryState.APPROVED or verified is False:
        return False
    return verified is True or not (sampled and policy.verification.required_before_credit)


def overlapping_claims(start_at, end_at, others) -> list[str]:
    """Entries among `others` ((entry_id, start_at, end_at), the employee's other approved or pending entries)
    that share a minute with [start_at, end_at).

    The rule after an overturn: the same minutes are credited once. Submission already refuses overlapping
    entries, but a rejected entry no longer blocks a new one over the same minutes, so overturning that
    rejection would make both creditable. The overturn is refused instead, naming the overlapping entries:
    the supervisor rejects or revises one of them first, and credit never depends on which was decided last.
    """
    return sorted(entry_id for entry_id, other_start, other_end in others
                  if other_start < end_at and start_at < other_end)
