"""Pure rules of the activities service: catalogue, entries, evidence, entry lifecycle, regional policy.

Nothing here reads the clock, a file or a database: `today` (the employee's local date) and the policy
are passed in.

Policy (`policy.py`, the `[activities]` table of the regional TOML file):
    load_policy(section: dict) -> ActivitiesPolicy          raises marshmallow.ValidationError
    ActivitiesPolicy(entry_window: EntryWindow, evidence: EvidencePolicy, daily_credit_cap_minutes: int | None)
    EntryWindow(mode: WindowMode, days: int, period_anchor: date); WindowMode: daily | within_days | biweekly
    EvidencePolicy(required: bool, max_bytes: int, types: tuple[str, ...])

Catalogue (`catalogue.py`):
    CatalogueItem(item_id, unit_id | None, position_id | None, description, norm_minutes, output_unit)
    parse_catalogue_csv(text: str) -> (list[CatalogueItem], list[RowError])
    RowError(line: int, field: str, reason: str)

Entries (`entries.py`):
    EntryDraft(employee_id, local_date, start_at, end_at, quantity=1, catalogue_item_id=None, description="",
               evidence_ids=(), entry_id=None)
    ActivityEntry(entry_id, employee_id, local_date, start_at, end_at, catalogue_item_id, quantity,
                  duration_minutes, credited_minutes, state, verified=None, description="", version=1)
    validate_entry(draft, today, existing_entries_same_employee, policy) -> list[FieldError]
    FieldError(field: str, message: str)
    earliest_entry_date(today, policy.entry_window) -> date     (the latest is today)
    duration_minutes(start_at, end_at) -> int
    credited_minutes(item | None, quantity, duration_minutes, accepted_minutes | None, policy) -> int
    cap_day_total(minutes: Iterable[int], policy) -> int

Evidence (`evidence.py`):
    sniff_evidence(first_bytes: bytes) -> "image/jpeg" | "image/png" | "application/pdf" | None
    check_evidence(size: int, mime: str | None, policy) -> list[FieldError]

Lifecycle (`lifecycle.py`):
    EntryState: submitted, approved, rejected, struck (*dicoret*, final), withdrawn
    EntryAction: edit, withdraw, revise (staff); approve, reject, strike (supervisor)
    transition(state, action, *, month_locked=False) -> EntryState    raises InvalidTransition(reason)
    NEW_VERSION_ACTIONS: actions after which the entry's version goes up by one (edit, revise)
A verification overturn does not go through `transition`: approvals' `verify()` gives the resulting state.
"""

from .catalogue import CatalogueItem, RowError, parse_catalogue_csv
from .entries import (
    ActivityEntry,
    EntryDraft,
    FieldError,
    cap_day_total,
    credited_minutes,
    duration_minutes,
    earliest_entry_date,
    validate_entry,
)
from .evidence import check_evidence, sniff_evidence
from .lifecycle import NEW_VERSION_ACTIONS, EntryAction, EntryState, InvalidTransition, transition
from .policy import ActivitiesPolicy, EntryWindow, EvidencePolicy, WindowMode, load_policy

__all__ = [
    "NEW_VERSION_ACTIONS",
    "ActivitiesPolicy",
    "ActivityEntry",
    "CatalogueItem",
    "EntryAction",
    "EntryDraft",
    "EntryState",
    "EntryWindow",
    "EvidencePolicy",
    "FieldError",
    "InvalidTransition",
    "RowError",
    "WindowMode",
    "cap_day_total",
    "check_evidence",
    "credited_minutes",
    "duration_minutes",
    "earliest_entry_date",
    "load_policy",
    "parse_catalogue_csv",
    "sniff_evidence",
    "transition",
    "validate_entry",
]
