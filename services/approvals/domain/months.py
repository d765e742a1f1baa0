"""Closing a unit's month: what still blocks it, and what a closed month freezes."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from .states import DECIDED_STATES, EntryState


@dataclass(frozen=True)
class MonthEntry:
    """One entry of the month with its latest decision: `sampled` when that decision was picked for verification."""

    entry_id: str
    state: EntryState
    verified: bool | None
    sampled: bool


def month_key(local_date: date) -> str:
    """The "YYYY-MM" name of the month holding a local date, as closed months are listed."""
    return f"{local_date.year:04d}-{local_date.month:02d}"


def is_locked(local_date: date, closed_months: Collection[str]) -> bool:
    """Whether the entry's month is closed, so nothing about the entry may change any more."""
    return month_key(local_date) in closed_months


def _count_and_list(entry_ids: list[str]) -> str:
    return f"{len(entry_ids)} ({', '.join(sorted(entry_ids))})"


def can_close_month(entries: Iterable[MonthEntry]) -> list[str]:
    """Reasons the month cannot be closed yet (empty when it can).

    Blocking: entries still awaiting a supervisor's decision, and sampled decisions the verification
    unit has not verified. Not blocking: rejected entries staff did not revise (a rejection is a decision
    and credits nothing) and withdrawn entries.
    """
    entries = list(entries)
    undecided = [e.entry_id for e in entries if e.state == EntryState.SUBMITTED]
    unverified = [e.entry_id for e in entries if e.state in DECIDED_STATES and e.sampled and e.verified is None]
    reasons = []
    if undecided:
        reasons.append(f"entries awaiting a supervisor's decision: {_count_and_list(undecided)}")
    if unverified:
        reasons.append(f"sampled decisions awaiting verification: {_count_and_list(unverified)}")
    return reasons
