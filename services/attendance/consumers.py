"""What the attendance service consumes: directory reference data, closed months, and its own punches.

Its own `attendance.punch.recorded` events are consumed to build days outside the request path: the
upload request only stores and acknowledges, and the per-employee key keeps each employee's punches in
order on one partition.
"""
from __future__ import annotations

from datetime import UTC, datetime

from attendance.handlers import days, projections
from attendance.app import build_context
from runtime.access import apply_verifier_assignment
from runtime.config import Settings
from runtime.consumer import ManyHandler


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    config = build_context(settings)
    return {
        "directory.employee.upserted": lambda session, event: projections.project_employee(session, event.data),
        "directory.schedule.upserted": lambda session, event: projections.project_schedule(session, event.data),
        "directory.geofence.upserted": lambda session, event: projections.project_geofence(session, event.data),
        "directory.holiday.upserted": lambda session, event: projections.project_holiday(session, event.data, config),
        "directory.enrolment.upserted": lambda session, event: projections.project_enrolment(
            session, event.data, datetime.now(UTC)),
        "approvals.month.closed": lambda session, event: projections.close_month(session, event.data),
        "approvals.verifier.assigned": lambda session, event: apply_verifier_assignment(session, event.data),
        # A poll's run of punches at once: each employee's days rebuilt once, read and written set-based.
        "attendance.punch.recorded": ManyHandler(lambda session, events: days.on_punches_recorded(
            session, [event.data for event in events], config)),
    }
