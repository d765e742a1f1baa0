"""The roster CSV exported by a personnel system (SIMPEG-like): one employee per row.

Header names are matched case-insensitively (spaces and dashes read as underscores); a UTF-8 BOM is
ignored; the delimiter is `;` or `,`, whichever the header line uses more. Unknown columns are
ignored. A NIP may be written with spaces as printed ("19680411 199303 1 009"). Line numbers
count physical lines of the file, the header being line 1.

A supervisor's NIP is checked in either form (NIP or NI PPPK), since their status is on their own
row if at all, and need not be in the file; the caller checks the whole organisation afterwards
with org.validate_supervision and org.validate_unit_tree.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .nip import InvalidNip, validate_nip
from .org import (
    MAX_JOB_CLASS,
    MIN_JOB_CLASS,
    DeviceEnrolment,
    Employee,
    EmployeeStatus,
    Position,
    PositionKind,
    Unit,
)

REQUIRED_COLUMNS = (
    "nip",
    "nama",
    "unit_id",
    "unit_name",
    "position_id",
    "position_name",
    "job_class",
    "position_kind",
    "status",
    "zone",
)
OPTIONAL_COLUMNS = (
    "parent_unit_id",
    "supervisor_nip",
    "acting_supervisor_nip",
    "schedule_id",
    "device_serial",
    "device_pin",
)

ZONE_ALIASES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
INDONESIAN_ZONES = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")
POSITION_KIND_ALIASES = {
    "structural": PositionKind.STRUCTURAL,
    "struktural": PositionKind.STRUCTURAL,
    "functional": PositionKind.FUNCTIONAL,
    "fungsional": PositionKind.FUNCTIONAL,
    "executor": PositionKind.EXECUTOR,
    "pelaksana": PositionKind.EXECUTOR,
}

_DEVICE_SERIAL = re.compile(r"[A-Za-z0-9_-]{1,32}")
_DEVICE_PIN = re.compile(r"[A-Za-z0-9]{1,24}")


@dataclass(frozen=True)
class RowError:
    """A refused roster row: its line in the file, the column at fault and why."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class RosterRow:
    """One valid roster row, normalised (zone as an IANA name, NIPs without spaces)."""

    line: int
    nip: str
    name: str
    unit_id: str
    unit_name: str
    parent_unit_id: str | None
    position_id: str
    position_name: str
    job_class: int
    position_kind: PositionKind
    status: EmployeeStatus
    zone: str
    supervisor_nip: str | None = None
    acting_supervisor_nip: str | None = None
    schedule_id: str | None = None
    device_serial: str | None = None
    device_pin: str | None = None

    def employee(self) -> Employee:
        """The employee this row describes."""
        return Employee(
            self.nip,
            self.name,
            self.unit_id,
            self.position_id,
            self.status,
            self.zone,
            self.supervisor_nip,
            self.acting_supervisor_nip,
            self.schedule_id,
        )

    def enrolment(self) -> DeviceEnrolment | None:
        """The fingerprint device enrolment this row gives, if any."""
        if self.device_serial is None or self.device_pin is None:
            return None
        return DeviceEnrolment(self.device_serial, self.device_pin, self.nip)


@dataclass(frozen=True)
class RosterResult:
    """The good rows of a roster, and an error for each fault of the refused ones."""

    rows: list[RosterRow]
    errors: list[RowError]


def parse_roster(text: str, reference_date: date) -> RosterResult:
    """Read a roster CSV, keeping each valid row and reporting every fault of the others.

    `reference_date` is "today" for the NIP checks. A NIP or a device enrolment (serial, PIN)
    already seen on an earlier row makes the later row an error.
    """
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first_line.count(";") > first_line.count(",") else ",")
    header = next(reader, None)
    if header is None:
        return RosterResult([], [RowError(1, "header", "the file is empty")])
    columns = [_column_name(cell) for cell in header]
    header_errors = _header_errors(columns)
    if header_errors:
        return RosterResult([], header_errors)

    rows: list[RosterRow] = []
    errors: list[RowError] = []
    nip_lines: dict[str, int] = {}
    enrolment_lines: dict[tuple[str, str], int] = {}
    end_of_previous = reader.line_num
    for cells in reader:
        line, end_of_previous = end_of_previous + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row, row_errors = _read_row(line, columns, cells, reference_date)
        row_errors += _repeat_errors(line, row, nip_lines, enrolment_lines)
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append(row)
    return RosterResult(rows, errors)


def units_from_rows(rows: Iterable[RosterRow]) -> tuple[list[Unit], list[RowError]]:
    """The units the rows name, as first seen, with an error for each later row that names one differently."""
    firsts, errors = _first_rows(rows, "unit_id", ("unit_name", "parent_unit_id"))
    return [Unit(row.unit_id, row.unit_name, row.parent_unit_id) for row in firsts], errors


def positions_from_rows(rows: Iterable[RosterRow]) -> tuple[list[Position], list[RowError]]:
    """The positions the rows name, as first seen, with an error for each later row that describes one differently."""
    firsts, errors = _first_rows(rows, "position_id", ("position_name", "job_class", "position_kind"))
    return [Position(row.position_id, row.position_name, row.job_class, row.position_kind) for row in firsts], errors


def normalise_zone(text: str) -> str:
    """The IANA name of an Indonesian time zone given as WIB/WITA/WIT or IANA (any case)."""
    alias = ZONE_ALIASES.get(text.strip().upper())
    if alias is not None:
        return alias
    for zone in INDONESIAN_ZONES:
        if zone.lower() == text.strip().lower():
            return zone
    raise ValueError(f"unknown zone {text!r}; use WIB, WITA, WIT or one of {', '.join(INDONESIAN_ZONES)}")


def _column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _header_errors(columns: list[str]) -> list[RowError]:
    errors = [RowError(1, column, "missing column") for column in REQUIRED_COLUMNS if column not in columns]
    known = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    repeated = sorted({column for column in columns if column in known and columns.count(column) > 1})
    errors += [RowError(1, column, "column appears twice") for column in repeated]
    return errors


def _read_row(
    line: int, columns: list[str], cells: list[str], reference_date: date
) -> tuple[RosterRow | None, list[RowError]]:
    values = {column: cell.strip() for column, cell in zip(columns, cells, strict=False)}
    errors: list[RowError] = []

    def check(field: str, read: Callable[[str], Any], required: bool = True) -> Any:
        """`read` the field's text, None when empty; a ValueError from `read` becomes this field's error."""
        value = values.get(field, "")
        if not value:
            if required:
                errors.append(RowError(line, field, "is required"))
            return None
        try:
            return read(value)
        except ValueError as fault:
            errors.append(RowError(line, field, str(fault)))
            return None

    status = check("status", _status)
    nip = check("nip", lambda value: _nip(value, reference_date, status))
    fields = {
        "name": check("nama", str),
        "unit_id": check("unit_id", str),
        "unit_name": check("unit_name", str),
        "parent_unit_id": check("parent_unit_id", str, required=False),
        "position_id": check("position_id", str),
        "position_name": check("position_name", str),
        "job_class": check("job_class", _job_class),
        "position_kind": check("position_kind", _position_kind),
        "zone": check("zone", normalise_zone),
        "supervisor_nip": check("supervisor_nip", lambda value: _supervisor_nip(value, nip, reference_date), False),
        "acting_supervisor_nip": check(
            "acting_supervisor_nip", lambda value: _supervisor_nip(value, nip, reference_date), False
        ),
        "schedule_id": check("schedule_id", str, required=False),
        "device_serial": check("device_serial", _device_serial, required=False),
        "device_pin": check("device_pin", _device_pin, required=False),
    }
    if bool(values.get("device_serial")) != bool(values.get("device_pin")):
        missing = "device_serial" if values.get("device_pin") else "device_pin"
        errors.append(RowError(line, missing, "device_serial and device_pin go together"))
    if any(cell.strip() for cell in cells[len(columns) :]):
        errors.append(RowError(line, "row", f"has {len(cells)} cells but the header has {len(columns)}"))
    if errors:
        return None, errors
    return RosterRow(line=line, nip=nip, status=status, **fields), []


def _repeat_errors(
    line: int,
    row: RosterRow | None,
    nip_lines: dict[str, int],
    enrolment_lines: dict[tuple[str, str], int],
) -> list[RowError]:
    """Errors for a NIP or device enrolment already seen on an earlier line; records this row's."""
    if row is None:
        return []
    errors = []
    if row.nip in nip_lines:
        errors.append(RowError(line, "nip", f"NIP {row.nip} is already on line {nip_lines[row.nip]}"))
    nip_lines.setdefault(row.nip, line)
    enrolment = row.enrolment()
    if enrolment is not None:
        key = (enrolment.device_serial, enrolment.pin)
        if key in enrolment_lines:
            errors.append(
                RowError(
                    line, "device_pin", f"PIN {key[1]} on device {key[0]} is already on line {enrolment_lines[key]}"
                )
            )
        enrolment_lines.setdefault(key, line)
    return errors


def _status(value: str) -> EmployeeStatus:
    try:
        return EmployeeStatus(value.upper())
    except ValueError:
        raise ValueError(f"unknown status {value!r}; use PNS, CPNS or PPPK") from None


def _nip(value: str, reference_date: date, status: EmployeeStatus | None) -> str:
    """The NIP without spaces; read as an NI PPPK when the status says PPPK, as either when it is unknown."""
    nip = "".join(value.split())
    if status is None:
        _check_nip(nip, reference_date, (False, True))
    else:
        _check_nip(nip, reference_date, (status is EmployeeStatus.PPPK,))
    return nip


def _supervisor_nip(value: str, employee_nip: str | None, reference_date: date) -> str:
    """A supervisor's NIP without spaces, in either form (their status is on their own row, if any)."""
    nip = "".join(value.split())
    if nip == employee_nip:
        raise ValueError("an employee cannot be their own supervisor")
    _check_nip(nip, reference_date, (False, True))
    return nip


def _check_nip(nip: str, reference_date: date, pppk_forms: tuple[bool, ...]) -> None:
    """Accept `nip` if it is valid in one of the forms, else raise the reason of the first."""
    reasons = []
    for pppk in pppk_forms:
        try:
            validate_nip(nip, reference_date, pppk=pppk)
            return
        except InvalidNip as invalid:
            reasons.append(invalid.reason)
    raise ValueError(reasons[0])


def _job_class(value: str) -> int:
    if not re.fullmatch(r"[0-9]+", value):
        raise ValueError(f"job class must be a whole number, got {value!r}")
    job_class = int(value)
    if not MIN_JOB_CLASS <= job_class <= MAX_JOB_CLASS:
        raise ValueError(f"job class must be between {MIN_JOB_CLASS} and {MAX_JOB_CLASS}, got {job_class}")
    return job_class


def _position_kind(value: str) -> PositionKind:
    kind = POSITION_KIND_ALIASES.get(value.lower())
    if kind is None:
        raise ValueError(f"unknown position kind {value!r}; use structural, functional or executor")
    return kind


def _device_serial(value: str) -> str:
    if not _DEVICE_SERIAL.fullmatch(value):
        raise ValueError(f"device serial {value!r} must be 1-32 letters, digits, '-' or '_'")
    return value


def _device_pin(value: str) -> str:
    if not _DEVICE_PIN.fullmatch(value):
        raise ValueError(f"device PIN {value!r} must be 1-24 letters or digits")
    return value


def _first_rows(
    rows: Iterable[RosterRow], key: str, compared: tuple[str, ...]
) -> tuple[list[RosterRow], list[RowError]]:
    """The first row for each value of `key`; a later row whose `compared` fields differ from it is an error."""
    firsts: dict[str, RosterRow] = {}
    errors = []
    for row in rows:
        first = firsts.setdefault(getattr(row, key), row)
        for field in compared:
            if getattr(row, field) != getattr(first, field):
                shown = "empty" if getattr(first, field) is None else f"'{getattr(first, field)}'"
                errors.append(
                    RowError(row.line, field, f"{key} {getattr(row, key)} has {field} {shown} on line {first.line}")
                )
    return list(firsts.values()), errors
