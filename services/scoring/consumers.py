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
    return {
        # Days come in bursts (a morning's punches): a poll's run at once, each employee re-checked once.
        "attendance.day.built": ManyHandler(lambda session, events: h.apply_days(
            session, [event.data for event in events], policy)),
        "activities.entry.submitted": lambda session, event: h.apply_entry(session, event.data, policy),
        "activities.entry.revised": lambda session, event: h.apply_entry(session, event.data, policy),
        "activities.entry.withdrawn": lambda session, event: h.apply_entry(session, event.data, policy),
        "approvals.decision.made": lambda session, event: h.apply_decision(session, event.data, policy),
        "approvals.verification.made": lambda session, event: h.apply_verification(session, event.data, policy),
        "approvals.month.closed": lambda session, event: h.close_month(session, event.data, policy),
        "approvals.verifier.assigned": lambda session, event: apply_verifier_assignment(session, event.data),
        "directory.employee.upserted": lambda session, event: h.apply_employee(session, event.data),
        "directory.unit.upserted": lambda session, event: h.apply_unit(session, event.data),
        "directory.position.upserted": lambda session, event: h.apply_position(session, event.data),
        "directory.holiday.upserted": lambda session, event: h.apply_holiday(session, event.data),
    }
