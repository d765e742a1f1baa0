"""Payroll's gauges, queried when Prometheus scrapes: runs by state, and since when each unpaid run has
been in its state (a run stuck in review or approval shows here)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payroll import tables
from payroll.domain.runs import RunState
from runtime.monitoring import Gauge


def _by_state(session: Session, now: datetime):
    r = tables.runs.c
    counts = dict(session.execute(select(r.state, func.count()).group_by(r.state)).all())
    return [((state.value,), counts.get(state.value, 0)) for state in RunState]


def _since(session: Session, now: datetime):
    r = tables.runs.c
    entered = {RunState.DRAFT: r.computed_at, RunState.REVIEWED: r.reviewed_at, RunState.APPROVED: r.approved_at}
    for row in session.execute(select(tables.runs).where(r.state != RunState.PAID.value)):
        moment = row._mapping[entered[RunState(row.state)].name] or row.computed_at
        yield (row.run_id, f"{row.year:04d}-{row.month:02d}", row.state), moment.timestamp()


def gauges(context) -> list[Gauge]:
    """The payroll service's gauges."""
    return [
        Gauge("kinerja_payroll_runs", "Payroll runs by state", ("state",), _by_state),
        Gauge("kinerja_payroll_run_state_since_timestamp_seconds", "When an unpaid run entered its current state",
              ("run", "period", "state"), _since),
    ]
