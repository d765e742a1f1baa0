"""Who may read whose records: the one access check of every service.

Staff read their own records; a supervisor their reports' (the acting supervisor, Plt, when there is one);
a verifier the people of the units approvals assigned them to, and nothing of any other unit, aggregates
included; the roles a service names (`read_all`, admin and ops by default) read everyone's.

A service that scopes verifiers keeps approvals' assignments in a local projection: it adds the table with
`add_verifier_units_table(metadata)` and consumes `approvals.verifier.assigned` with
`apply_verifier_assignment`. The people are read from the service's own `employees` projection (columns
`employee_id`, `unit_id`, `supervisor_id`, `acting_supervisor_id`), found through the session like the outbox.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, MetaData, String, Table, and_, or_, select
from sqlalchemy.orm import Session

from runtime.auth import Principal
from runtime.errors import Forbidden

READ_ALL = ("admin", "ops")


def add_verifier_units_table(metadata: MetaData) -> Table:
    """Add the `verifier_units` projection (approvals' assignments: the units whose records a verifier reads)."""
    return Table(
        "verifier_units", metadata,
        Column("verifier_id", String(18), primary_key=True),
        Column("unit_id", String(64), primary_key=True),
    )


def _table(session: Session, name: str) -> Table:
    metadata = session.info.get("metadata")
    if metadata is None or name not in metadata.tables:
        raise RuntimeError(f"no {name} table: build sessions with runtime.db.make_session_factory(engine, metadata)")
    return metadata.tables[name]


def apply_verifier_assignment(session: Session, data: dict) -> None:
    """Keep the verifier-unit projection in step with approvals (`approvals.verifier.assigned`)."""
    v = _table(session, "verifier_units")
    session.execute(v.delete().where(v.c.verifier_id == data["verifier_id"], v.c.unit_id == data["unit_id"]))
    if data["active"]:
        session.execute(v.insert().values(verifier_id=data["verifier_id"], unit_id=data["unit_id"]))


def verified_units(session: Session, verifier_id: str) -> set[str]:
    """The units a verifier is assigned to."""
    v = _table(session, "verifier_units").c
    return {row.unit_id for row in session.execute(select(v.unit_id).where(v.verifier_id == verifier_id))}


@dataclass(frozen=True)
class Person:
    """An employee as a service's directory projection knows them, for access checks."""

    employee_id: str
    unit_id: str | None
    approver_id: str | None  # the acting supervisor (Plt) when set, else the supervisor


def person(session: Session, employee_id: str) -> Person | None:
    """The employee from the service's `employees` projection, or None."""
    e = _table(session, "employees").c
    row = session.execute(select(e.employee_id, e.unit_id, e.supervisor_id, e.acting_supervisor_id)
                          .where(e.employee_id == employee_id)).first()
    if row is None:
        return None
    return Person(row.employee_id, row.unit_id, row.acting_supervisor_id or row.supervisor_id)


def may_read(session: Session, caller: Principal, employee_id: str, *, read_all: tuple[str, ...] = READ_ALL,
             supervisors: bool = True, verifiers: bool = True) -> bool:
    """Whether `caller` may read `employee_id`'s records: their own, `read_all` roles everyone's, a supervisor
    their reports' and a verifier their units' people (each unless the service turns them off)."""
    if caller.subject == employee_id or caller.has(*read_all):
        return True
    if not (supervisors and caller.has("supervisor")) and not (verifiers and caller.has("verifier")):
        return False
    who = person(session, employee_id)
    if who is None:
        return False
    if supervisors and caller.has("supervisor") and who.approver_id == caller.subject:
        return True
    return verifiers and caller.has("verifier") and who.unit_id in verified_units(session, caller.subject)


def require_read(session: Session, caller: Principal, employee_id: str,
                 detail: str = "you may see only yourself, your reports, or your units as a verifier", **rules) -> None:
    """Raise Forbidden unless `may_read` (same keyword rules)."""
    if not may_read(session, caller, employee_id, **rules):
        raise Forbidden(detail)


def readable_units(session: Session, caller: Principal, *, read_all: tuple[str, ...] = READ_ALL) -> set[str] | None:
    """The units whose aggregates `caller` may read: None for all (`read_all` roles); a verifier their assigned
    units, a supervisor their own unit; nobody else any."""
    if caller.has(*read_all):
        return None
    units = verified_units(session, caller.subject) if caller.has("verifier") else set()
    if caller.has("supervisor"):
        own = person(session, caller.subject)
        if own is not None and own.unit_id:
            units.add(own.unit_id)
    return units


def may_read_unit(session: Session, caller: Principal, unit_id: str, *, read_all: tuple[str, ...] = READ_ALL) -> bool:
    """Whether `caller` may read the aggregates of `unit_id` (see `readable_units`)."""
    units = readable_units(session, caller, read_all=read_all)
    return units is None or unit_id in units


def readable_employees(session: Session, caller: Principal, employee_column, *,
                       read_all: tuple[str, ...] = READ_ALL):
    """A condition on `employee_column` selecting the records `caller` may read (None: all), for listings."""
    if caller.has(*read_all):
        return None
    e = _table(session, "employees").c
    visible = [employee_column == caller.subject]
    if caller.has("supervisor"):
        visible.append(employee_column.in_(select(e.employee_id).where(or_(
            e.acting_supervisor_id == caller.subject,
            and_(e.supervisor_id == caller.subject, e.acting_supervisor_id.is_(None))))))
    if caller.has("verifier"):
        v = _table(session, "verifier_units").c
        visible.append(employee_column.in_(select(e.employee_id).where(e.unit_id.in_(
            select(v.unit_id).where(v.verifier_id == caller.subject)))))
    return or_(*visible)
