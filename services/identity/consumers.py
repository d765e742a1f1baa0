"""What the identity service consumes: the directory's employees, so an account exists per employee."""
from __future__ import annotations

from identity import handlers as h
from runtime.config import Settings


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    return {"directory.employee.upserted": lambda session, event: h.project_employee(session, event.data)}
