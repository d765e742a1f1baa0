"""Closing a unit's month: what still blocks it, and what a closed month freezes."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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


def close_opens_at(first_day: date, zones: Iterable[str], from_local_time: time | None = None) -> tuple[datetime, str]:
    """The instant from which the month starting on `first_day` may be closed, and the zone that decides it.

    A month closes only after its last day has ended in the unit's zone: with members in several zones, in the
    last of them. A policy may open the close earlier, at `from_local_time` on the month's last day (once that
    day's schedule is over). No zone known: UTC, later than every Indonesian zone."""
    following = (first_day + timedelta(days=32)).replace(day=1)
    last_day = following - timedelta(days=1)
    local = datetime.combine(following, time()) if from_local_time is None else datetime.combine(last_day,
                                                                                                 from_local_time)
    candidates = [(local.replace(tzinfo=ZoneInfo(zone)), zone) for zone in sorted(set(zones)) or ["UTC"]]
    return max(candidates, key=lambda candidate: candidate[0])


def too_early_to_close(first_day: date, zones: Iterable[str], now: datetime,
                       from_local_time: time | None = None) -> str | None:
    """Why the month cannot be closed at `now` because it has not ended (None when it may be closed)."""
    opens, zone = close_opens_at(first_day, zones, from_local_time)
    if now >= opens:
        return None
    month = f"{first_day.year:04d}-{first_day.month:02d}"
    when = "its last day has ended" if from_local_time is None else \
        f"{from_local_time:%H:%M} on its last day (the region's close time)"
    return (f"{month} may be closed only after {when} in the unit's zone {zone}: from "
            f"{opens:%Y-%m-%d %H:%M} {zone}; it is now {now.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} there")
