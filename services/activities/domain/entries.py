"""Activity entries: what makes one valid, and how many minutes it is worth."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .catalogue import CatalogueItem
from .lifecycle import EntryState
from .policy import ActivitiesPolicy, EntryWindow, WindowMode

MAX_ENTRY_MINUTES = 24 * 60
PERIOD_DAYS = 14
# Entries in these states claim no time any more, so they cannot collide with a new one.
_RELEASED_STATES = frozenset({EntryState.WITHDRAWN, EntryState.STRUCK, EntryState.REJECTED})


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, in words the user can act on."""

    field: str
    message: str


@dataclass(frozen=True)
class EntryDraft:
    """An entry as staff submit or edit it; `local_date` is the start's date in the employee's zone."""

    employee_id: str
    local_date: date
    start_at: datetime
    end_at: datetime
    quantity: int = 1
    catalogue_item_id: str | None = None
    description: str = ""
    evidence_ids: tuple[str, ...] = ()
    entry_id: str | None = None


@dataclass(frozen=True)
class ActivityEntry:
    """A stored activity entry (the shared shape); `verified` False means the verifier overturned an approval."""

    entry_id: str
    employee_id: str
    local_date: date
    start_at: datetime
    end_at: datetime
    catalogue_item_id: str | None
    quantity: int
    duration_minutes: int
    credited_minutes: int
    state: EntryState
    verified: bool | None = None
    description: str = ""
    version: int = 1


def duration_minutes(start_at: datetime, end_at: datetime) -> int:
    """Whole minutes between start and end."""
    return int((end_at - start_at).total_seconds() // 60)


def _period_start(day: date, anchor: date) -> date:
    """First day of the two-week period holding `day`; periods start on `anchor` and every 14 days around it."""
    return day - timedelta(days=(day - anchor).days % PERIOD_DAYS)


def earliest_entry_date(today: date, window: EntryWindow) -> date:
    """Earliest local date that still accepts entries today (the latest is always today).

    `daily`: today only. `within_days`: N days back. `biweekly`: any day of the current two-week
    period or of the period that just ended, so a report filed at the end of a period can still be
    completed during the next one.
    """
    if window.mode == WindowMode.DAILY:
        return today
    if window.mode == WindowMode.WITHIN_DAYS:
        return today - timedelta(days=window.days)
    return _period_start(today, window.period_anchor) - timedelta(days=PERIOD_DAYS)


def _window_message(earliest: date, today: date, window: EntryWindow) -> str:
    if window.mode == WindowMode.DAILY:
        return f"activities can only be entered on the day itself ({today.isoformat()})"
    if window.mode == WindowMode.WITHIN_DAYS:
        return f"activities can be entered up to {window.days} days back (from {earliest.isoformat()})"
    return (
        "activities can be entered for the current two-week period or the one just ended "
        f"(from {earliest.isoformat()})"
    )


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _time_errors(draft: EntryDraft, others: Iterable[ActivityEntry]) -> list[FieldError]:
    naive = [FieldError(name, "must carry a time zone") for name in ("start_at", "end_at")
             if not _is_aware(getattr(draft, name))]
    if naive:
        return naive
    if draft.end_at <= draft.start_at:
        return [FieldError("end_at", "must be after the start")]
    if duration_minutes(draft.start_at, draft.end_at) > MAX_ENTRY_MINUTES:
        return [FieldError("end_at", "an activity lasts at most 24 hours")]
    return [
        FieldError("start_at", f"overlaps entry {other.entry_id}")
        for other in others
        if other.entry_id != draft.entry_id
        and other.state not in _RELEASED_STATES
        # Half-open intervals: one activity may start the minute another ends.
        and draft.start_at < other.end_at
        and other.start_at < draft.end_at
    ]


def _date_errors(draft: EntryDraft, today: date, window: EntryWindow) -> list[FieldError]:
    if draft.local_date > today:
        return [FieldError("local_date", "is in the future")]
    earliest = earliest_entry_date(today, window)
    if draft.local_date < earliest:
        return [FieldError("local_date", _window_message(earliest, today, window))]
    return []


def _content_errors(draft: EntryDraft, policy: ActivitiesPolicy) -> list[FieldError]:
    errors = []
    if draft.quantity < 1:
        errors.append(FieldError("quantity", "must be at least 1"))
    if not draft.catalogue_item_id and not draft.description.strip():
        errors.append(FieldError("catalogue_item_id", "choose a catalogue item or describe the work"))
    if policy.evidence.required and not draft.evidence_ids:
        errors.append(FieldError("evidence_ids", "attach a photo or document proving the work"))
    return errors


def validate_entry(
    draft: EntryDraft,
    today: date,
    existing_entries_same_employee: Iterable[ActivityEntry],
    policy: ActivitiesPolicy,
) -> list[FieldError]:
    """Every reason the draft cannot be saved (empty when it can); `today` is the employee's local date."""
    return (
        _time_errors(draft, existing_entries_same_employee)
        + _date_errors(draft, today, policy.entry_window)
        + _content_errors(draft, policy)
    )


def credited_minutes(
    item: CatalogueItem | None,
    quantity: int,
    duration_minutes: int,
    accepted_minutes: int | None,
    policy: ActivitiesPolicy,
) -> int:
    """Minutes an entry is worth: norm × quantity (or, for a free description, the minutes the supervisor
    accepted, 0 until then), never more than the time the entry spans nor the daily cap."""
    claimed = item.norm_minutes * quantity if item is not None else (accepted_minutes or 0)
    credited = max(0, min(claimed, duration_minutes))
    return cap_day_total([credited], policy)


def cap_day_total(minutes: Iterable[int], policy: ActivitiesPolicy) -> int:
    """Total credited minutes of one day, cut to the policy's daily cap when it has one."""
    total = sum(minutes)
    cap = policy.daily_credit_cap_minutes
    return total if cap is None else min(total, cap)
