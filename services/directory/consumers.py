"""What the directory consumes: approvals' verifier assignments, which scope what a verifier reads here."""
from __future__ import annotations

from runtime.access import apply_verifier_assignment
from runtime.config import Settings


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    return {"approvals.verifier.assigned": lambda session, event: apply_verifier_assignment(session, event.data)}
