"""Scoring's use cases for monthly SKP targets: the approver sets them and assesses them; a month's score
reads them (with the month's creditable entries of a linked catalogue item) into its target score.

Targets live in scoring because only the month's score reads them, beside the approver's other monthly
judgement (the BerAKHLAK behaviour rating), and the entries they count are already projected here: no new
event or projection, and a change to a closed month re-scores it in the same transaction.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from runtime.access import require_read
from runtime.auth import Principal
from runtime.errors import Forbidden, Invalid
from scoring import handlers, tables
from scoring.domain.policy import ScoringPolicy
from scoring.domain.targets import Target, TargetAchievement, target_achievement

TARGET_FIELDS = ("output", "quantity", "output_unit", "weight", "quality", "time_days", "catalogue_item_id")


def _require_approver(session: Session, principal: Principal, employee_id: str) -> None:
    if handlers.approver_of(session, employee_id) != principal.subject:
        raise Forbidden("only the employee's approver (supervisor or acting supervisor) sets and assesses their "
                        "targets")


def _period_rows(session: Session, employee_id: str, year: int, month: int):
    t = tables.targets
    return session.execute(select(t).where(t.c.employee_id == employee_id, t.c.year == year, t.c.month == month)
                           .order_by(t.c.position)).all()


def _target_of(row) -> Target:
    return Target(row.target_id, row.output, row.quantity, row.output_unit, row.weight,
                  None if row.quality is None else Decimal(row.quality), row.time_days, row.catalogue_item_id,
                  row.realised_quantity, None if row.realised_quality is None else Decimal(row.realised_quality),
                  row.realised_days)


def set_targets(session: Session, principal: Principal, employee_id: str, year: int, month: int,
                targets: Sequence[dict], policy: ScoringPolicy) -> dict:
    """The approver sets (replaces) an employee's targets for a month; an earlier assessment goes with them."""
    _require_approver(session, principal, employee_id)
    t = tables.targets
    session.execute(delete(t).where(t.c.employee_id == employee_id, t.c.year == year, t.c.month == month))
    now = datetime.now(timezone.utc)
    if targets:
        session.execute(insert(t), [{
            "target_id": str(uuid.uuid4()), "employee_id": employee_id, "year": year, "month": month,
            "position": i, **{k: target.get(k) for k in TARGET_FIELDS}, "set_by": principal.subject, "set_at": now,
        } for i, target in enumerate(targets)])
    handlers._rescore_if_closed(session, employee_id, {(year, month)}, policy,
                                f"SKP targets set by {principal.subject}")
    return get_targets(session, principal, employee_id, year, month, policy)


def assess_targets(session: Session, principal: Principal, employee_id: str, year: int, month: int,
                   assessments: Sequence[dict], policy: ScoringPolicy) -> dict:
    """The approver records what was realised against each target (quantity, quality, days)."""
    _require_approver(session, principal, employee_id)
    known = {row.target_id for row in _period_rows(session, employee_id, year, month)}
    unknown = [(i, a["target_id"]) for i, a in enumerate(assessments) if a["target_id"] not in known]
    if unknown:
        raise Invalid("unknown targets for this employee and month",
                      [{"field": f"targets.{i}.target_id", "message": f"no target {target_id} in {year}-{month:02d}"}
                       for i, target_id in unknown])
    now = datetime.now(timezone.utc)
    t = tables.targets
    for assessment in assessments:
        session.execute(update(t).where(t.c.target_id == assessment["target_id"]).values(
            realised_quantity=assessment.get("quantity"), realised_quality=assessment.get("quality"),
            realised_days=assessment.get("time_days"), assessed_by=principal.subject, assessed_at=now))
    handlers._rescore_if_closed(session, employee_id, {(year, month)}, policy,
                                f"SKP targets assessed by {principal.subject}")
    return get_targets(session, principal, employee_id, year, month, policy)


def get_targets(session: Session, principal: Principal, employee_id: str, year: int, month: int,
                policy: ScoringPolicy) -> dict:
    """An employee's targets for a month with their achievement as it stands (staff: their own)."""
    require_read(session, principal, employee_id)
    rows = _period_rows(session, employee_id, year, month)
    achievement = month_achievements(session, [employee_id], year, month, policy)[employee_id]
    lines = {line.target_id: line for line in achievement.lines}
    return {"employee_id": employee_id, "year": year, "month": month,
            "target_score": None if achievement.score is None else str(achievement.score),
            "reason": achievement.reason,
            "targets": [{
                "target_id": row.target_id, **{k: _plain(getattr(row, k)) for k in TARGET_FIELDS},
                "realised": None if row.assessed_at is None else {
                    "quantity": row.realised_quantity, "quality": _plain(row.realised_quality),
                    "time_days": row.realised_days, "assessed_by": row.assessed_by},
                "score": None if lines[row.target_id].score is None else str(lines[row.target_id].score),
                "explanation": lines[row.target_id].explanation, "set_by": row.set_by,
            } for row in rows]}


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def month_achievements(session: Session, members: Sequence[str], year: int, month: int,
                       policy: ScoringPolicy) -> dict[str, TargetAchievement]:
    """Each member's target achievement for the month: two queries (targets; linked entries' quantities)."""
    t, e = tables.targets, tables.entries
    targets = defaultdict(list)
    for row in session.execute(select(t).where(t.c.employee_id.in_(members), t.c.year == year, t.c.month == month)
                               .order_by(t.c.employee_id, t.c.position)):
        targets[row.employee_id].append(_target_of(row))
    quantities = defaultdict(dict)
    linked = sorted({x.catalogue_item_id for ts in targets.values() for x in ts if x.catalogue_item_id})
    if linked:
        first, last = handlers._month_bounds(year, month)
        for employee_id, item, total in session.execute(
                select(e.c.employee_id, e.c.catalogue_item_id, func.sum(e.c.quantity))
                .where(e.c.employee_id.in_(sorted(targets)), e.c.local_date.between(first, last),
                       e.c.catalogue_item_id.in_(linked), e.c.standing_creditable.is_(True))
                .group_by(e.c.employee_id, e.c.catalogue_item_id)):
            quantities[employee_id][item] = int(total or 0)
    return {employee_id: target_achievement(targets.get(employee_id, ()), quantities.get(employee_id, {}),
                                            policy.targets.aspect_cap) for employee_id in members}


def with_target(result: dict, achievement: TargetAchievement) -> dict:
    """A scored month with its target score and the target breakdown."""
    breakdown = dict(result["breakdown"], target={
        "score": None if achievement.score is None else str(achievement.score), "reason": achievement.reason,
        "lines": [{"target_id": line.target_id, "output": line.output,
                   "score": None if line.score is None else str(line.score), "explanation": line.explanation}
                  for line in achievement.lines]})
    return dict(result, target_score=achievement.score, breakdown=breakdown)
