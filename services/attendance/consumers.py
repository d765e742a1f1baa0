"""What the attendance service consumes: directory reference data, closed months and verifier assignments.

Its own punches are not among them: the days a punch belongs to are rebuilt where it is stored, in the same
transaction (`punches.build_days_of`), off the upload request (the ingest job's, for device uploads).
"""
from __future__ import annotations

from datetime import UTC, datetime

from attendance.handlers import projections
from attendance.app import build_context
from runtime.access import apply_verifier_assignment
from runtime.config import Settings


def handlers(settings: Settings) -> dict:
    """Event type -> handler(session, event)."""
    config = build_context(settings)
    return {
        "directory.employee.upserted": lambda session, event: projections.project_employee(session, event.data),
        "directory.schedule.upserted": lambda session, event: projections.project_schedule(session, event.data),
        "directory.geofence.upserted": lambda session, event: projections.project_geofence(session, event.data),
        "directory.holiday.upserted": lambda session, event: projections.project_holiday(session, event.data, config),
        "directory.enrolment.upserted": lambda session, event: projections.project_enrolment(
            session, event.data, datetime.now(UTC), config),
        "approvals.month.closed": lambda session, event: projections.close_month(session, event.data),
        "approvals.verifier.assigned": lambda session, event: apply_verifier_assignment(session, event.data),
    }
