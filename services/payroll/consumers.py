"""What payroll consumes: the directory's units, positions and employees, and scoring's scored months.

A scored month counts as received when scoring scored it (`occurred_at`), so a replay decides cut-offs alike.
"""
from __future__ import annotations

from payroll import handlers as h
from runtime.config import Settings
from runtime.consumer import ManyHandler


def handlers(settings: Settings) -> dict:
    """Event type -> projection handler(session, event)."""
    return {
        "directory.unit.upserted": lambda session, event: h.project_unit(session, event.data),
        "directory.position.upserted": lambda session, event: h.project_position(session, event.data),
        "directory.employee.upserted": lambda session, event: h.project_employee(session, event.data),
        # A poll's scored months in one query and one upsert (50,000 of them when a month closes).
        "scoring.month.scored": ManyHandler(lambda session, events: h.project_scored_months(
            session, [(event.data, event.occurred_at) for event in events])),
    }
