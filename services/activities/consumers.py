"""What the activities service consumes: employees from the directory, and approvals' outcomes on its entries."""
from __future__ import annotations

from activities import handlers as use_cases
from activities.app import build_context
from runtime.access import apply_verifier_assignment
from runtime.config import Settings


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    ctx = build_context(settings)
    return {
        "directory.employee.upserted": lambda session, event: use_cases.upsert_employee(session, event.data, ctx.now()),
        "approvals.decision.made": lambda session, event: use_cases.apply_decision(session, event.data, ctx.policy,
                                                                                   ctx.now()),
        "approvals.verification.made": lambda session, event: use_cases.apply_verification(session, event.data,
                                                                                           ctx.now()),
        "approvals.month.closed": lambda session, event: use_cases.record_month_closed(session, event.data),
        "approvals.verifier.assigned": lambda session, event: apply_verifier_assignment(session, event.data),
    }
