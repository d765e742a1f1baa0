"""What scoring consumes: attendance days, activity entries, decisions, month closings and directory data."""
from __future__ import annotations

from runtime.access import apply_verifier_assignment
from runtime.config import Settings
from runtime.consumer import ManyHandler
from scoring import handlers as h
from scoring.app import build_context


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event); the scoring policy is validated once, here."""
    policy = build_context(settings).policy
    entries = ManyHandler(lambda session, events: h.apply_entries(session, [event.data for event in events], policy))
    return {
        # Days come in bursts (a morning's punches): a poll's run at once, each employee re-checked once.
        "attendance.day.built": ManyHandler(lambda session, events: h.apply_days(
            session, [event.data for event in events], policy)),
        # Entries, decisions and verifications come in bursts too (a unit's staff at the end of the day, a
        # supervisor approving a list): a run of one type at once, as for days.
        "activities.entry.submitted": entries,
        "activities.entry.revised": entries,
        "activities.entry.withdrawn": entries,
        "approvals.decision.made": ManyHandler(lambda session, events: h.apply_decisions(
            session, [event.data for event in events], policy)),
        "approvals.verification.made": ManyHandler(lambda session, events: h.apply_verifications(
            session, [event.data for event in events], policy)),
        "approvals.month.closed": lambda session, event: h.close_month(session, event.data, policy),
        "approvals.verifier.assigned": lambda session, event: apply_verifier_assignment(session, event.data),
        "directory.employee.upserted": lambda session, event: h.apply_employee(session, event.data),
        "directory.unit.upserted": lambda session, event: h.apply_unit(session, event.data),
        "directory.position.upserted": lambda session, event: h.apply_position(session, event.data),
        "directory.holiday.upserted": lambda session, event: h.apply_holiday(session, event.data),
    }
