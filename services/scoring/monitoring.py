"""Scoring's gauges, queried when Prometheus scrapes: the cross-check flags it raised, by kind and state
(open, cleared by a decision, resolved by later data)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runtime.monitoring import Gauge
from scoring import tables


def _flags(session: Session, now: datetime):
    f = tables.flags.c
    for kind, state, n in session.execute(select(f.kind, f.state, func.count()).group_by(f.kind, f.state)):
        yield (kind, state), n


def gauges(context) -> list[Gauge]:
    """The scoring service's gauges."""
    return [Gauge("kinerja_flags", "Cross-check flags raised, by kind and state", ("kind", "state"), _flags)]
