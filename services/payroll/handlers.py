"""The payroll service's use cases: the only code that touches payroll's tables and publishes its events.

A run is drafted from what payroll knows for the month (the latest scored month of every employee,
the directory's employees and positions, sanctions, grades) with a handful of set-based queries; the
pure rule `compute_tpp` prices each employee; payslips are written with one bulk insert.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payroll import tables as t
from payroll.domain.bank import BankAccount, bank_export, bank_rows, unit_summary
from payroll.domain.budget import budget_report
from payroll.domain.simulation import compare as compare_prices
from payroll.domain.policy import PayrollPolicy
from payroll.domain.runs import (Correction, RunState, RunStateError, adjustment_for, advance, can_recompute,
                                 content_hash, correction_deadline, landing_month)
from payroll.domain.tpp import (ActiveSanction, Adjustment, DayFact, EmployeeFacts, MonthFacts, Payslip, PayslipLine,
                                compute_tpp, missing_figures, sanction_month, sanction_percent)
from runtime.audit_chain import append
from runtime.db import insert_for, insert_rows, upsert_rows
from runtime.errors import Conflict, Forbidden, NotFound
from runtime.events import make_event
from runtime.messaging import publish

PRODUCER = "payroll"
DEFAULT_ZONE = "Asia/Jakarta"
STAFF_VISIBLE = (RunState.APPROVED.value, RunState.PAID.value)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- projections (consumers) ----------------------------------------------------------------------------

def project_unit(session: Session, data: dict) -> None:
    """Keep a directory unit's name."""
    upsert_rows(session, t.units, [{"unit_id": data["unit_id"], "name": data["name"], "active": data["active"],
                                "updated_at": _now()}], ("unit_id",))


def project_position(session: Session, data: dict) -> None:
    """Keep a directory position's job class (kelas jabatan)."""
    upsert_rows(session, t.positions, [{"position_id": data["position_id"], "name": data["name"],
                                    "job_class": data["job_class"], "updated_at": _now()}], ("position_id",))


def project_employee(session: Session, data: dict) -> None:
    """Keep a directory employee's name, unit, position, status (PNS/PPPK/CPNS) and zone."""
    upsert_rows(session, t.employees, [{
        "employee_id": data["employee_id"], "name": data["name"], "unit_id": data["unit_id"],
        "position_id": data["position_id"], "status": data["status"], "zone": data["zone"], "updated_at": _now(),
    }], ("employee_id",))


def _day_facts_json(days: list[dict]) -> list[dict]:
    """Loaded day facts in their wire form (`contracts.scoring.DayFacts` dumped by hand: fixed shape, dates as ISO text)."""
    return [{"local_date": d["local_date"].isoformat(), "status": d["status"], "late_band": d.get("late_band"),
             "early_band": d.get("early_band"), "absence_kind": d.get("absence_kind")} for d in days]


def project_scored_months(session: Session, scored: list[tuple[dict, datetime]]) -> None:
    """Keep the latest version of each employee's scored month from (data, received_at) pairs, in order: one
    query for the employees' zones and one upsert whose version guard leaves older or equal versions alone.
    The cause of every re-scored version is kept aside: a correction's payslip line names it."""
    causes = [{"employee_id": data["employee_id"], "year": data["year"], "month": data["month"],
               "version": data["version"], "cause": data["cause"][:500]} for data, _ in scored if data.get("cause")]
    if causes:
        session.execute(insert_for(session, t.score_causes).on_conflict_do_nothing(), causes)
    latest: dict[tuple, tuple[dict, datetime]] = {}
    for data, received_at in scored:
        key = (data["employee_id"], data["year"], data["month"])
        if key not in latest or latest[key][0]["version"] < data["version"]:
            latest[key] = (data, received_at)  # the first of equal versions wins, as one by one
    if not latest:
        return
    ids = sorted({key[0] for key in latest})
    zones = dict(session.execute(select(t.employees.c.employee_id, t.employees.c.zone)
                                 .where(t.employees.c.employee_id.in_(ids))).all())
    rows = []
    for data, received_at in latest.values():
        zone = zones.get(data["employee_id"]) or DEFAULT_ZONE
        rows.append({
            "employee_id": data["employee_id"], "year": data["year"], "month": data["month"],
            "version": data["version"], "unit_id": data["unit_id"], "activity_score": data["activity_score"],
            "target_score": data["target_score"], "behaviour_score": data["behaviour_score"],
            "overtime_hours": data["overtime_hours"], "predicate": data["predicate"],
            "credited_minutes": data.get("credited_minutes"), "effective_minutes": data.get("effective_minutes"),
            "days": _day_facts_json(data["days"]), "received_at": received_at,
            "received_local_date": received_at.astimezone(ZoneInfo(zone)).date(), "zone": zone,
        })
    upsert_rows(session, t.scored_months, rows, ("employee_id", "year", "month"),
            only_if=lambda table, excluded: table.c.version < excluded.version)


# --- payroll's own records ------------------------------------------------------------------------------

def set_sanction(session: Session, employee_id: str, data: dict, by: str, policy: PayrollPolicy) -> dict:
    """Record (or replace) an employee's disciplinary sanction: level, first month, number of months (validated by
    the request's schema)."""
    row = {"employee_id": employee_id, "level": data["level"], "start_year": data["start_year"],
           "start_month": data["start_month"], "months": data["months"], "reason": data["reason"],
           "updated_by": by, "updated_at": _now()}
    upsert_rows(session, t.sanctions, [row], ("employee_id",))
    return get_sanction(session, employee_id, policy)


def get_sanction(session: Session, employee_id: str, policy: PayrollPolicy) -> dict | None:
    """An employee's recorded sanction with the percent of each of its months, or None."""
    row = session.execute(select(t.sanctions).where(t.sanctions.c.employee_id == employee_id)).first()
    if row is None:
        return None
    percents = [str(sanction_percent(row.level, i, policy)) for i in range(1, row.months + 1)]
    return {"employee_id": row.employee_id, "level": row.level, "start_year": row.start_year,
            "start_month": row.start_month, "months": row.months, "reason": row.reason,
            "percent_by_month": percents, "updated_by": row.updated_by}


def delete_sanction(session: Session, employee_id: str) -> None:
    """Lift an employee's sanction; NotFound when there is none."""
    if session.execute(delete(t.sanctions).where(t.sanctions.c.employee_id == employee_id)).rowcount == 0:
        raise NotFound(f"no sanction for {employee_id}")


def set_bank_account(session: Session, employee_id: str, data: dict, by: str) -> dict:
    """Record where an employee's allowance is transferred."""
    upsert_rows(session, t.bank_accounts, [{"employee_id": employee_id, "bank_code": data["bank_code"],
                                        "bank_account": data["bank_account"], "updated_by": by,
                                        "updated_at": _now()}], ("employee_id",))
    return {"employee_id": employee_id, "bank_code": data["bank_code"], "bank_account": data["bank_account"]}


def set_budget(session: Session, unit_id: str, year: int, month: int, amount: int, by: str) -> dict:
    """Set a unit's TPP budget for a month (rupiah)."""
    upsert_rows(session, t.budgets, [{"unit_id": unit_id, "year": year, "month": month, "amount": amount,
                                  "updated_by": by, "updated_at": _now()}], ("unit_id", "year", "month"))
    return {"unit_id": unit_id, "year": year, "month": month, "amount": amount}


def set_grade(session: Session, employee_id: str, grade: str, by: str) -> dict:
    """Record an employee's golongan (grade) for the tax line."""
    upsert_rows(session, t.grades, [{"employee_id": employee_id, "grade": grade, "updated_by": by,
                                 "updated_at": _now()}], ("employee_id",))
    return {"employee_id": employee_id, "grade": grade}


# --- computing a run ------------------------------------------------------------------------------------

def _month_facts(row, year: int, month: int, adjustments=()) -> MonthFacts:
    days = tuple(DayFact(date.fromisoformat(d["local_date"]), d["status"], d.get("late_band"), d.get("early_band"),
                         d.get("absence_kind")) for d in row.days)
    return MonthFacts(year, month, Decimal(row.activity_score),
                      None if row.target_score is None else Decimal(row.target_score),
                      None if row.behaviour_score is None else Decimal(row.behaviour_score),
                      None if row.overtime_hours is None else Decimal(row.overtime_hours),
                      days, tuple(adjustments), row.credited_minutes, row.effective_minutes)


def _facts_snapshot(employee: EmployeeFacts, score_version: int) -> dict:
    sanction = employee.active_sanction
    return {"job_class": employee.job_class, "position_id": employee.position_id, "status": employee.status,
            "grade": employee.grade, "score_version": score_version,
            "sanction": None if sanction is None else {"level": sanction.level, "month_index": sanction.month_index}}


def _employee_from_snapshot(employee_id: str, name: str, unit_id: str, facts: dict) -> EmployeeFacts:
    sanction = facts["sanction"]
    return EmployeeFacts(employee_id, name, unit_id, facts["job_class"], facts["position_id"], facts["status"],
                         ActiveSanction(sanction["level"], sanction["month_index"]) if sanction else None,
                         facts["grade"])


def _line(line: PayslipLine) -> dict:
    return {"code": line.code, "description": line.description, "rule": line.rule, "evidence": line.evidence,
            "amount": line.amount}


def _payslip_from_row(row) -> Payslip:
    return Payslip(row.employee_id, row.name, row.unit_id, row.year, row.month, row.gross,
                   tuple(PayslipLine(**line) for line in row.lines), row.net)


def _month_rows(session: Session, year: int, month: int):
    """Everything a run needs per employee, in one query."""
    sm, e, p, g, s = t.scored_months, t.employees, t.positions, t.grades, t.sanctions
    query = (
        select(sm.c.employee_id, sm.c.version, sm.c.unit_id, sm.c.activity_score, sm.c.target_score,
               sm.c.behaviour_score, sm.c.overtime_hours, sm.c.credited_minutes, sm.c.effective_minutes,
               sm.c.days, e.c.name, e.c.status, e.c.position_id,
               e.c.employee_id.label("known"), p.c.job_class, g.c.grade, s.c.level.label("sanction_level"),
               s.c.start_year, s.c.start_month, s.c.months.label("sanction_months"))
        .select_from(sm.outerjoin(e, e.c.employee_id == sm.c.employee_id)
                     .outerjoin(p, p.c.position_id == e.c.position_id)
                     .outerjoin(g, g.c.employee_id == sm.c.employee_id)
                     .outerjoin(s, s.c.employee_id == sm.c.employee_id))
        .where(sm.c.year == year, sm.c.month == month)
        .order_by(sm.c.employee_id)
    )
    return session.execute(query).all()


def _correction_rows(session: Session, year: int, month: int, run_id: str | None):
    """Approved payslips of earlier months whose scored month has a newer version than was paid or carried."""
    ps, r, sm, adj = t.payslips, t.runs, t.scored_months, t.adjustments
    carried = (
        select(adj.c.employee_id, adj.c.year, adj.c.month, func.max(adj.c.to_version).label("to_version"))
        .where(adj.c.run_id != (run_id or ""))
        .group_by(adj.c.employee_id, adj.c.year, adj.c.month)
        .subquery()
    )
    query = (
        select(ps.c.employee_id, ps.c.name, ps.c.unit_id, ps.c.year, ps.c.month, ps.c.gross, ps.c.net, ps.c.lines,
               ps.c.facts, ps.c.score_version, sm.c.version, sm.c.activity_score, sm.c.target_score,
               sm.c.behaviour_score, sm.c.overtime_hours, sm.c.credited_minutes, sm.c.effective_minutes,
               sm.c.days, sm.c.received_local_date,
               carried.c.to_version.label("carried_version"))
        .select_from(ps.join(r, r.c.run_id == ps.c.run_id)
                     .join(sm, and_(sm.c.employee_id == ps.c.employee_id, sm.c.year == ps.c.year,
                                    sm.c.month == ps.c.month))
                     .outerjoin(carried, and_(carried.c.employee_id == ps.c.employee_id,
                                              carried.c.year == ps.c.year, carried.c.month == ps.c.month)))
        .where(r.c.state.in_(STAFF_VISIBLE),
               or_(ps.c.year < year, and_(ps.c.year == year, ps.c.month < month)),
               sm.c.version > func.coalesce(carried.c.to_version, ps.c.score_version))
        .order_by(ps.c.employee_id, ps.c.year, ps.c.month)
    )
    return session.execute(query).all()


def _last_carried_net(session: Session, employee_id: str, year: int, month: int, run_id: str | None) -> int | None:
    adj = t.adjustments
    row = session.execute(
        select(adj.c.to_net).where(adj.c.employee_id == employee_id, adj.c.year == year, adj.c.month == month,
                                   adj.c.run_id != (run_id or ""))
        .order_by(adj.c.to_version.desc()).limit(1)).first()
    return None if row is None else row.to_net


def _causes(session: Session, rows) -> dict[tuple, list[tuple[int, str]]]:
    """The recorded causes of the corrected months' versions, by (employee, year, month)."""
    if not rows:
        return {}
    c = t.score_causes
    found: dict[tuple, list[tuple[int, str]]] = {}
    for row in session.execute(select(c).where(c.c.employee_id.in_(sorted({r.employee_id for r in rows})))
                               .order_by(c.c.version)):
        found.setdefault((row.employee_id, row.year, row.month), []).append((row.version, row.cause))
    return found


def _reason(causes: list[tuple[int, str]], from_version: int, to_version: int) -> str:
    named = [cause for version, cause in causes if from_version < version <= to_version]
    versions = f"scores version {from_version} → {to_version}"
    return f"{'; '.join(named)}; {versions}" if named else versions


def _corrections(session: Session, policy: PayrollPolicy, year: int, month: int, run_id: str | None):
    """Adjustments to carry into (year, month) by employee, their rows, and the corrections that land in a later
    run (received after their cut-off: the policy says which run pays them)."""
    carried: dict[str, list[Adjustment]] = {}
    records, waiting = [], []
    rows = _correction_rows(session, year, month, run_id)
    causes = _causes(session, rows)
    for row in rows:
        source = (row.year, row.month)
        from_version = row.carried_version or row.score_version
        reason = _reason(causes.get((row.employee_id, row.year, row.month), []), from_version, row.version)
        lands = landing_month(source, row.received_local_date, policy)
        if lands > (year, month):
            waiting.append(_waiting(row, reason, lands, policy))
            continue
        approved = _payslip_from_row(row)
        previous_net = _last_carried_net(session, row.employee_id, row.year, row.month, run_id) \
            if row.carried_version else None
        baseline = approved if previous_net is None else replace(approved, net=previous_net)
        employee = _employee_from_snapshot(row.employee_id, row.name, row.unit_id, row.facts)
        recomputed = compute_tpp(employee, _month_facts(row, row.year, row.month), policy)
        adjustment = adjustment_for(Correction(row.employee_id, row.year, row.month, reason), baseline, recomputed)
        records.append({"employee_id": row.employee_id, "year": row.year, "month": row.month,
                        "from_version": from_version, "to_version": row.version, "from_net": baseline.net,
                        "to_net": recomputed.net, "amount": adjustment.amount,
                        "description": adjustment.description[:500]})
        if adjustment.amount:
            carried.setdefault(row.employee_id, []).append(adjustment)
    return carried, records, waiting


def _waiting(row, reason: str, lands: tuple[int, int], policy: PayrollPolicy) -> dict:
    return {"employee_id": row.employee_id, "year": row.year, "month": row.month, "version": row.version,
            "cause": reason, "received_on": row.received_local_date.isoformat(),
            "deadline": correction_deadline((row.year, row.month), policy).isoformat(),
            "lands_in": f"{lands[0]:04d}-{lands[1]:02d}"}


def list_corrections(session: Session, policy: PayrollPolicy) -> dict:
    """Every correction of an approved month not yet paid by an approved run: where it will land (the run month,
    and the draft run already carrying it, if any) and its cause."""
    rows = _correction_rows(session, 9999, 12, None)
    causes = _causes(session, rows)
    waiting = [_waiting(row, _reason(causes.get((row.employee_id, row.year, row.month), []),
                                     row.carried_version or row.score_version, row.version),
                        landing_month((row.year, row.month), row.received_local_date, policy), policy) | {"run_id": None}
               for row in rows]
    adj, r = t.adjustments, t.runs
    drafted = [{"employee_id": a.employee_id, "year": a.year, "month": a.month, "version": a.to_version,
                "cause": a.description, "lands_in": f"{a.run_year:04d}-{a.run_month:02d}", "run_id": a.run_id,
                "amount": a.amount}
               for a in session.execute(
                   select(adj, r.c.year.label("run_year"), r.c.month.label("run_month"))
                   .join(r, r.c.run_id == adj.c.run_id)
                   .where(r.c.state.in_((RunState.DRAFT.value, RunState.REVIEWED.value)))
                   .order_by(adj.c.employee_id, adj.c.year, adj.c.month))]
    return {"corrections": drafted + waiting}


def compute_run(session: Session, policy: PayrollPolicy, year: int, month: int, run_id: str | None = None,
                corrections: bool = True):
    """Price every employee scored in (year, month): payslip rows, adjustment rows, skipped, and corrections waiting for a later run.
    Without `corrections`, the month alone (a simulation: earlier months' corrections are no part of its rules)."""
    carried, adjustment_records, waiting = _corrections(session, policy, year, month, run_id) if corrections \
        else ({}, [], [])
    payslips, rows, skipped, incomplete = [], [], [], []
    memo: dict = {}  # the day lines already priced in this run (`compute_tpp`)
    for row in _month_rows(session, year, month):
        if row.known is None:
            skipped.append({"employee_id": row.employee_id, "reason": "not in the directory"})
            continue
        if row.job_class is None:
            skipped.append({"employee_id": row.employee_id, "reason": "no position with a job class"})
            continue
        index = None if row.sanction_level is None else sanction_month(
            row.start_year, row.start_month, row.sanction_months, year, month)
        employee = EmployeeFacts(row.employee_id, row.name, row.unit_id, row.job_class, row.position_id, row.status,
                                 ActiveSanction(row.sanction_level, index) if index else None, row.grade)
        facts = _month_facts(row, year, month, carried.get(row.employee_id, ()))
        try:
            payslip = compute_tpp(employee, facts, policy, memo)
        except ValueError as exc:
            skipped.append({"employee_id": row.employee_id, "reason": str(exc)})
            continue
        payslips.append(payslip)
        incomplete += [{"employee_id": row.employee_id, "component": m.component, "missing": m.source,
                        "action": m.action} for m in missing_figures(facts, policy)]
        rows.append({"employee_id": payslip.employee_id, "name": payslip.name, "unit_id": payslip.unit_id,
                     "year": year, "month": month, "score_version": row.version, "gross": payslip.gross,
                     "net": payslip.net, "lines": [_line(line) for line in payslip.lines],
                     "facts": _facts_snapshot(employee, row.version)})
    paid = {p.employee_id for p in payslips}
    for record in adjustment_records:
        if record["employee_id"] not in paid:
            skipped.append({"employee_id": record["employee_id"],
                            "reason": f"correction of {record['year']}-{record['month']:02d} waits: "
                                      "not paid this month"})
    adjustment_records = [r for r in adjustment_records if r["employee_id"] in paid]
    summary = {"employees": len(payslips), "gross_total": sum(p.gross for p in payslips),
               "net_total": sum(p.net for p in payslips), "content_hash": content_hash(payslips),
               "skipped": skipped, "late_corrections": waiting, "incomplete": incomplete}
    return summary, rows, adjustment_records


_WRITE_CHUNK = 5000  # payslips per INSERT: a few megabytes of JSON per statement


def _write_payslips(session: Session, run_id: str, rows: list[dict], adjustment_records: list[dict]) -> None:
    session.execute(delete(t.payslips).where(t.payslips.c.run_id == run_id))
    session.execute(delete(t.adjustments).where(t.adjustments.c.run_id == run_id))
    # `insert_rows`: the payslips travel as JSON documents in a few statements; an executemany encoded each
    # payslip's lines and facts one by one in Python (a third of a 50,000-employee draft).
    for at in range(0, len(rows), _WRITE_CHUNK):
        insert_rows(session, t.payslips, [dict(r, run_id=run_id) for r in rows[at:at + _WRITE_CHUNK]])
    insert_rows(session, t.adjustments, [dict(r, run_id=run_id) for r in adjustment_records])


# --- the run lifecycle ----------------------------------------------------------------------------------

def _run_view(row) -> dict:
    return {"run_id": row.run_id, "organisation": row.organisation, "year": row.year, "month": row.month,
            "state": row.state, "employees": row.employees, "gross_total": row.gross_total,
            "net_total": row.net_total, "content_hash": row.content_hash, "skipped": row.skipped,
            "corrections_waiting": row.late_corrections, "incomplete": _incomplete_view(row.incomplete),
            "drafted_by": row.drafted_by,
            "drafted_at": row.drafted_at.isoformat(), "computed_by": row.computed_by,
            "computed_at": row.computed_at.isoformat(), "reviewed_by": row.reviewed_by,
            "approved_by": row.approved_by, "approved_at": row.approved_at and row.approved_at.isoformat(),
            "approved_hash": row.approved_hash, "paid_by": row.paid_by,
            "paid_at": row.paid_at and row.paid_at.isoformat()}


def _incomplete_view(incomplete: list[dict]) -> dict:
    """Payslips priced without a component's figure: how many, per component, and each with who must act."""
    by_component: dict[str, int] = {}
    for item in incomplete:
        by_component[item["component"]] = by_component.get(item["component"], 0) + 1
    return {"count": len({item["employee_id"] for item in incomplete}), "by_component": by_component,
            "payslips": incomplete}


def _publish_run(session: Session, event_type: str, run: dict) -> None:
    data = {k: run[k] for k in ("run_id", "organisation", "year", "month", "state", "employees", "gross_total",
                                "net_total", "content_hash", "approved_by")}
    publish(session, make_event(event_type, run["run_id"], data, PRODUCER))


def _load_run(session: Session, run_id: str, lock: bool = False):
    query = select(t.runs).where(t.runs.c.run_id == run_id)
    if lock and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"no payroll run {run_id}")
    return row


def get_run(session: Session, run_id: str) -> dict:
    """One run's state, totals and audit fields."""
    return _run_view(_load_run(session, run_id))


def list_runs(session: Session, year: int | None = None) -> list[dict]:
    """Runs, newest month first."""
    query = select(t.runs).order_by(t.runs.c.year.desc(), t.runs.c.month.desc())
    if year is not None:
        query = query.where(t.runs.c.year == year)
    return [_run_view(r) for r in session.execute(query)]


def draft_run(session: Session, policy: PayrollPolicy, organisation: str, year: int, month: int, by: str) -> dict:
    """Draft the organisation's run for a month from what payroll knows; one run per organisation and month."""
    exists = session.execute(select(t.runs.c.run_id).where(
        t.runs.c.organisation == organisation, t.runs.c.year == year, t.runs.c.month == month)).scalar()
    if exists:
        raise Conflict(f"a run for {year}-{month:02d} already exists: {exists}", run_id=exists)
    run_id = str(uuid.uuid4())
    summary, rows, adjustment_records = compute_run(session, policy, year, month, run_id)
    now = _now()
    try:
        with session.begin_nested():
            session.execute(insert(t.runs).values(
                run_id=run_id, organisation=organisation, year=year, month=month, state=RunState.DRAFT.value,
                drafted_by=by, drafted_at=now, computed_by=by, computed_at=now, **summary))
    except IntegrityError:
        raise Conflict(f"a run for {year}-{month:02d} was drafted concurrently") from None
    _write_payslips(session, run_id, rows, adjustment_records)
    run = get_run(session, run_id)
    _publish_run(session, "payroll.run.drafted", run)
    return run


def recompute_run(session: Session, policy: PayrollPolicy, run_id: str, by: str) -> tuple[dict, bool]:
    """Recompute a draft from current facts; the same facts change nothing (same hash). Returns (run, changed)."""
    row = _load_run(session, run_id, lock=True)
    if not can_recompute(row.state):
        raise Conflict(f"a {row.state} run never changes; corrections go to the next month's run")
    summary, rows, adjustment_records = compute_run(session, policy, row.year, row.month, run_id)
    if summary["content_hash"] == row.content_hash and summary["skipped"] == row.skipped \
            and summary["late_corrections"] == row.late_corrections:
        return _run_view(row), False
    _write_payslips(session, run_id, rows, adjustment_records)
    session.execute(update(t.runs).where(t.runs.c.run_id == run_id)
                    .values(computed_by=by, computed_at=_now(), **summary))
    run = get_run(session, run_id)
    _publish_run(session, "payroll.run.drafted", run)
    return run, True


def _transition(session: Session, run_id: str, target: RunState, values: dict) -> dict:
    row = _load_run(session, run_id, lock=True)
    try:
        advance(RunState(row.state), target)
    except RunStateError as exc:
        raise Conflict(str(exc)) from None
    session.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(state=target.value, **values))
    return get_run(session, run_id)


def review_run(session: Session, run_id: str, by: str) -> dict:
    """Mark a draft reviewed (ready for approval)."""
    return _transition(session, run_id, RunState.REVIEWED, {"reviewed_by": by, "reviewed_at": _now()})


def return_run(session: Session, run_id: str, by: str) -> dict:
    """Send a reviewed run back to draft."""
    return _transition(session, run_id, RunState.DRAFT, {"reviewed_by": None, "reviewed_at": None})


def approve_run(session: Session, run_id: str, by: str, expected_hash: str | None = None) -> dict:
    """Approve a reviewed run: four eyes (not who drafted or last recomputed it), recording who and the hash."""
    row = _load_run(session, run_id, lock=True)
    if by in (row.drafted_by, row.computed_by):
        raise Forbidden("who drafted or recomputed a run cannot approve it (separation of duties)")
    if expected_hash is not None and expected_hash != row.content_hash:
        message = "the run's contents differ from the hash you reviewed"
        raise Conflict(message, [{"field": "content_hash", "message": message}])
    now = _now()
    run = _transition(session, run_id, RunState.APPROVED,
                      {"approved_by": by, "approved_at": now, "approved_hash": row.content_hash})
    _audit_run(session, "run.approved", run, by, now)
    _publish_run(session, "payroll.run.approved", run)
    return run


def _audit_run(session: Session, action: str, run: dict, by: str, at: datetime) -> None:
    append(session, t.AUDIT_STREAMS[0], {"at": at, "actor": by, "action": action, **{
        k: run[k] for k in ("run_id", "organisation", "year", "month", "employees", "gross_total", "net_total",
                            "content_hash")}})


def audited_run_changed(session: Session, record: dict) -> str | None:
    """What differs between an audited run's payslips now and the content hash its audit record vouches for."""
    now = content_hash(_payslips(session, record["run_id"]))
    if now != record["content_hash"]:
        return (f"run {record['run_id']} ({record['year']}-{record['month']:02d}): its payslips now hash to "
                f"{now[:12]}…, {record['action']} recorded {record['content_hash'][:12]}…")
    return None


def mark_paid(session: Session, run_id: str, by: str) -> dict:
    """Record that an approved run's transfers were made."""
    now = _now()
    run = _transition(session, run_id, RunState.PAID, {"paid_by": by, "paid_at": now})
    _audit_run(session, "run.paid", run, by, now)
    _publish_run(session, "payroll.run.paid", run)
    return run


# --- payslips, budgets, bank ----------------------------------------------------------------------------

def _payslip_view(row, run) -> dict:
    return {"run_id": row.run_id, "run_state": run.state, "employee_id": row.employee_id, "name": row.name,
            "unit_id": row.unit_id, "year": row.year, "month": row.month, "gross": row.gross, "net": row.net,
            "lines": row.lines, "facts": row.facts}


def visible_run(session: Session, run_id: str, sees_all: bool):
    """The run, if the caller may see its payslips (staff only see approved and paid runs)."""
    run = _load_run(session, run_id)
    if not sees_all and run.state not in STAFF_VISIBLE:
        raise NotFound(f"no payslips of run {run_id} for you yet")
    return run


def list_payslips(session: Session, run_id: str, only_employee: str | None = None) -> list[dict]:
    """A run's payslips (or only one employee's), ordered by unit and employee."""
    run = _load_run(session, run_id)
    query = select(t.payslips).where(t.payslips.c.run_id == run_id) \
        .order_by(t.payslips.c.unit_id, t.payslips.c.employee_id)
    if only_employee is not None:
        query = query.where(t.payslips.c.employee_id == only_employee)
    return [_payslip_view(r, run) for r in session.execute(query)]


def get_payslip(session: Session, run_id: str, employee_id: str) -> dict:
    """One employee's payslip in a run."""
    found = list_payslips(session, run_id, employee_id)
    if not found:
        raise NotFound(f"no payslip of {employee_id} in run {run_id}")
    return found[0]


def my_payslips(session: Session, employee_id: str) -> list[dict]:
    """An employee's payslips in approved and paid runs, newest first."""
    ps, r = t.payslips, t.runs
    rows = session.execute(
        select(ps, r.c.state).join(r, r.c.run_id == ps.c.run_id).where(
            ps.c.employee_id == employee_id, r.c.state.in_(STAFF_VISIBLE))
        .order_by(ps.c.year.desc(), ps.c.month.desc())).all()
    return [_payslip_view(row, row) for row in rows]


def _payslips(session: Session, run_id: str) -> list[Payslip]:
    rows = session.execute(select(t.payslips).where(t.payslips.c.run_id == run_id)).all()
    return [_payslip_from_row(r) for r in rows]


def run_budget(session: Session, run_id: str) -> dict:
    """Planned, paid (allowance cost) and unspent per unit for the run's month, with totals."""
    run = _load_run(session, run_id)
    budget = {r.unit_id: r.amount for r in session.execute(
        select(t.budgets.c.unit_id, t.budgets.c.amount).where(t.budgets.c.year == run.year,
                                                               t.budgets.c.month == run.month))}
    names = dict(session.execute(select(t.units.c.unit_id, t.units.c.name)).all())
    report = budget_report(budget, _payslips(session, run_id))
    units = [dict(asdict(u), name=names.get(u.unit_id)) for u in report]
    totals = {k: sum(u[k] for u in units) for k in ("planned", "paid", "unspent")}
    return {"run_id": run_id, "year": run.year, "month": run.month, "state": run.state, "units": units,
            "totals": totals}


def _accounts(session: Session) -> dict[str, BankAccount]:
    return {r.employee_id: BankAccount(r.bank_code, r.bank_account) for r in session.execute(select(t.bank_accounts))}


def _reference(run) -> str:
    return f"TPP {run.year}-{run.month:02d} {run.run_id[:8]}"


def _transfer_run(session: Session, run_id: str):
    run = _load_run(session, run_id)
    if run.state not in STAFF_VISIBLE:
        raise Conflict(f"a {run.state} run has no transfers yet: approve it first")
    return run


def bank_file(session: Session, run_id: str, policy: PayrollPolicy) -> tuple[str, str]:
    """The run's transfer file (CSV, columns and delimiter by policy) and a file name; 409 if accounts are missing."""
    run = _transfer_run(session, run_id)
    try:
        rows = bank_rows(_payslips(session, run_id), _accounts(session), _reference(run))
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    return bank_export(rows, policy.bank_columns, policy.bank_delimiter), f"tpp-{run.year}-{run.month:02d}.csv"


def bank_summary(session: Session, run_id: str) -> dict:
    """Transfers counted and totalled per unit, and the employees with something to pay but no account."""
    run = _transfer_run(session, run_id)
    payslips, accounts = _payslips(session, run_id), _accounts(session)
    missing = sorted(p.employee_id for p in payslips if p.net > 0 and p.employee_id not in accounts)
    rows = bank_rows([p for p in payslips if p.employee_id in accounts], accounts, _reference(run))
    units = [asdict(u) for u in unit_summary(rows)]
    return {"run_id": run_id, "reference": _reference(run), "units": units,
            "totals": {"employees": sum(u["employees"] for u in units), "amount": sum(u["amount"] for u in units)},
            "missing_accounts": missing}


# --- simulations ------------------------------------------------------------------------------------------

def simulate(session: Session, policy: PayrollPolicy, candidate: PayrollPolicy, label: str, year: int,
             month: int) -> dict:
    """A closed month priced under the policy in force and under `candidate`, compared; nothing is written."""
    period = f"{year:04d}-{month:02d}"
    scored = session.execute(select(func.count()).select_from(t.scored_months).where(
        t.scored_months.c.year == year, t.scored_months.c.month == month)).scalar()
    if not scored:
        message = (f"no unit has closed {period} yet: a simulation prices a closed month (the verification unit "
                   f"closes each unit's month after its last day has ended)")
        raise Conflict(message, [{"field": "month", "message": message}], title="Month not closed")
    baseline, base_rows, _ = compute_run(session, policy, year, month, corrections=False)
    alternative, alt_rows, _ = compute_run(session, candidate, year, month, corrections=False)
    budget = {r.unit_id: r.amount for r in session.execute(
        select(t.budgets.c.unit_id, t.budgets.c.amount).where(t.budgets.c.year == year, t.budgets.c.month == month))}
    return {"year": year, "month": month, "baseline": {"policy": "in force", "skipped": baseline["skipped"]},
            "alternative": {"policy": label, "skipped": alternative["skipped"]},
            **compare_prices(base_rows, alt_rows, budget)}
