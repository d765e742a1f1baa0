"""What approvals consumes: entries (the queue), employees (who approves whom), flags and attendance days."""
from __future__ import annotations

from approvals import handlers as use_cases
from approvals.app import build_context
from runtime.config import Settings


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    _now = build_context(settings).now

    def entry(session, event):
        use_cases.receive_entry(session, event.type, event.data, _now())

    def flag(session, event):
        use_cases.receive_flag(session, event.type, event.data, _now())

    return {
        "directory.employee.upserted": lambda session, event: use_cases.upsert_employee(session, event.data, _now()),
        "activities.entry.submitted": entry,
        "activities.entry.revised": entry,
        "activities.entry.withdrawn": entry,
        "scoring.flag.raised": flag,
        "scoring.flag.resolved": flag,
        "attendance.day.built": lambda session, event: use_cases.receive_day(session, event.data),
    }
