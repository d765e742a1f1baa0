"""Payloads of the events payroll consumes, for tests."""
from __future__ import annotations

from datetime import date, datetime, timezone

UNIT = "DISKOMINFO"


def scored(employee_id, year, month, version=1, activity="90", days=(), unit=UNIT):
    """A `scoring.month.scored` payload."""
    return {
        "employee_id": employee_id, "unit_id": unit, "year": year, "month": month, "version": version,
        "activity_score": activity, "discipline_score": "95", "predicate": "Baik", "effective_minutes": 9900,
        "credited_minutes": 8910, "days": list(days), "breakdown": {"source": "test"},
    }


def day(d: date, status="present", late=None, early=None, absence=None):
    """One day fact."""
    return {"local_date": d.isoformat(), "status": status, "late_band": late, "early_band": early,
            "absence_kind": absence}


def at(year, month, day_, hour=3):
    """A UTC instant."""
    return datetime(year, month, day_, hour, tzinfo=timezone.utc)
