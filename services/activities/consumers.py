"""What the activities service consumes: employees from the directory, and approvals' outcomes on its entries."""
from __future__ import annotations

from datetime import datetime, timezone

from activities import handlers as use_cases
from activities.domain import load_policy
from runtime.config import Settings
from runtime.policy import load_section


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    policy = load_section(settings.policy_file, "activities", load_policy)

    def now() -> datetime:
        return datetime.now(timezone.utc)

    return {
        "directory.employee.upserted": lambda session, event: use_cases.upsert_employee(session, event.data, now()),
        "approvals.decision.made": lambda session, event: use_cases.apply_decision(session, event.data, policy, now()),
        "approvals.verification.made": lambda session, event: use_cases.apply_verification(session, event.data, now()),
        "approvals.month.closed": lambda session, event: use_cases.record_month_closed(session, event.data),
        "approvals.verifier.assigned": lambda session, event: use_cases.apply_verifier_assignment(session, event.data),
    }
