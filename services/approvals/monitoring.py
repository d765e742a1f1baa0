"""Approvals' gauges, queried when Prometheus scrapes: entries waiting for a decision per unit (and the
oldest's age)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approvals import tables
from contracts.vocabulary import EntryState
from runtime.monitoring import Gauge


def _waiting(session: Session, now: datetime):
    e = tables.entries.c
    return session.execute(select(e.unit_id, func.count(), func.min(e.received_at))
                           .where(e.state == EntryState.SUBMITTED.value).group_by(e.unit_id)).all()


def gauges(context) -> list[Gauge]:
    """The approvals service's gauges."""
    return [
        Gauge("kinerja_approvals_entries_waiting", "Activity entries waiting for a supervisor's decision", ("unit",),
              lambda session, now: [((unit or "",), n) for unit, n, _ in _waiting(session, now)]),
        Gauge("kinerja_approvals_oldest_waiting_age_seconds", "Age of the oldest entry waiting for a decision",
              ("unit",), lambda session, now: [((unit or "",), (now - oldest).total_seconds())
                                               for unit, _, oldest in _waiting(session, now)]),
    ]
