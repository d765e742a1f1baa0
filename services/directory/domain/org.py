"""The organisation: units (SKPD/OPD), positions, employees, device enrolments, and who approves whom."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

MIN_JOB_CLASS = 1
MAX_JOB_CLASS = 17


class EmployeeStatus(StrEnum):
    """Employment status: PNS civil servant, CPNS candidate civil servant, PPPK contract employee."""

    PNS = "PNS"
    CPNS = "CPNS"
    PPPK = "PPPK"


class PositionKind(StrEnum):
    """Kind of position: structural (*struktural*), functional (*fungsional*), executor (*pelaksana*)."""

    STRUCTURAL = "structural"
    FUNCTIONAL = "functional"
    EXECUTOR = "executor"


@dataclass(frozen=True)
class Unit:
    """An organisation unit: an SKPD/OPD (regional agency) or one of its parts; `parent_id` None at the top."""

    unit_id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Position:
    """A position (*jabatan*) with its job class (*kelas jabatan*, 1-17), which sets the TPP base."""

    position_id: str
    name: str
    job_class: int
    kind: PositionKind


@dataclass(frozen=True)
class Employee:
    """An employee (ASN), identified by NIP, with the direct supervisor and the acting one (*Plt*) if any."""

    employee_id: str
    name: str
    unit_id: str
    position_id: str
    status: EmployeeStatus
    zone: str
    supervisor_id: str | None = None
    acting_supervisor_id: str | None = None
    schedule_id: str | None = None


@dataclass(frozen=True)
class DeviceEnrolment:
    """A fingerprint device user: the PIN on the device with serial `device_serial` is `employee_id`."""

    device_serial: str
    pin: str
    employee_id: str


@dataclass(frozen=True)
class OrgError:
    """A fault in the organisation data: which record, which field, and why."""

    subject_id: str
    field: str
    reason: str


class UnknownEmployee(LookupError):
    """An employee id that is not in the directory."""


def validate_unit_tree(units: Iterable[Unit]) -> list[OrgError]:
    """Faults of a unit tree: a unit listed twice, a parent that does not exist, a cycle of parents."""
    errors: list[OrgError] = []
    by_id: dict[str, Unit] = {}
    for unit in units:
        if unit.unit_id in by_id:
            errors.append(OrgError(unit.unit_id, "unit_id", f"unit {unit.unit_id} is listed twice"))
            continue
        by_id[unit.unit_id] = unit
    for unit in by_id.values():
        if unit.parent_id is not None and unit.parent_id not in by_id:
            errors.append(OrgError(unit.unit_id, "parent_id", f"parent unit {unit.parent_id} does not exist"))

    def parent(unit_id: str) -> str | None:
        return by_id[unit_id].parent_id if unit_id in by_id else None

    errors.extend(_cycle_errors(by_id, parent, "parent_id"))
    return errors


def validate_supervision(employees: Mapping[str, Employee]) -> list[OrgError]:
    """Faults of the supervision lines: unknown or self supervisors, and approval lines that loop."""
    errors: list[OrgError] = []
    for employee in employees.values():
        for field in ("supervisor_id", "acting_supervisor_id"):
            supervisor_id = getattr(employee, field)
            if supervisor_id == employee.employee_id:
                errors.append(OrgError(employee.employee_id, field, "an employee cannot supervise themself"))
            elif supervisor_id is not None and supervisor_id not in employees:
                errors.append(OrgError(employee.employee_id, field, f"{supervisor_id} is not in the directory"))

    def next_up(employee_id: str) -> str | None:
        return _next_approver(employees[employee_id], employees)

    errors.extend(_cycle_errors(employees, next_up, "supervisor_id"))
    return errors


def approver_for(employee_id: str, employees: Mapping[str, Employee]) -> str | None:
    """Who approves this employee's work: the acting supervisor (*Plt*) when set, else the direct supervisor.

    A supervisor who is not in `employees`, or who is the employee themself, is passed over;
    None means nobody in the directory can approve (the caller routes to an administrator).
    """
    return superior_of(employee_id, employees)


def superior_of(employee_id: str, employees: Mapping[str, Employee], levels: int = 1) -> str | None:
    """The approver `levels` steps up the approval line (1 = approver_for; 2 = the escalation target).

    None when the line ends first or loops back on someone already passed.
    """
    if employee_id not in employees:
        raise UnknownEmployee(employee_id)
    passed = {employee_id}
    current: str | None = employee_id
    for _ in range(levels):
        current = _next_approver(employees[current], employees)
        if current is None or current in passed:
            return None
        passed.add(current)
    return current


def _next_approver(employee: Employee, employees: Mapping[str, Employee]) -> str | None:
    for candidate in (employee.acting_supervisor_id, employee.supervisor_id):
        if candidate is not None and candidate != employee.employee_id and candidate in employees:
            return candidate
    return None


def _cycle_errors(ids: Iterable[str], step: Callable[[str], str | None], field: str) -> list[OrgError]:
    """One error for each id that `step` leads back to itself, naming the loop."""
    errors = []
    for start in ids:
        path = [start]
        current = step(start)
        while current is not None and current not in path:
            path.append(current)
            current = step(current)
        if current == start:
            loop = " → ".join([*path, start])
            errors.append(OrgError(start, field, f"forms a cycle: {loop}"))
    return errors
