from datetime import date

import pytest

from directory.domain.org import DeviceEnrolment, Employee, EmployeeStatus, Position, PositionKind, Unit
from directory.domain.roster import RowError, parse_roster, positions_from_rows, units_from_rows

TODAY = date(2025, 6, 15)
HEAD = "197001011995031001"
STAFF = "198503122010011002"
CONTRACT = "199009132021212014"  # NI PPPK: agreement code 21 where a NIP has the month

COLUMNS = (
    "nip", "nama", "unit_id", "unit_name", "parent_unit_id", "position_id", "position_name", "job_class",
    "position_kind", "supervisor_nip", "acting_supervisor_nip", "status", "zone", "schedule_id",
    "device_serial", "device_pin",
)


def _row(**values):
    row = {
        "nip": STAFF,
        "nama": "Siti Aminah",
        "unit_id": "DISKOMINFO",
        "unit_name": "Dinas Komunikasi dan Informatika",
        "parent_unit_id": "PEMKAB",
        "position_id": "PRANATA-KOM",
        "position_name": "Pranata Komputer Ahli Pertama",
        "job_class": "8",
        "position_kind": "functional",
        "supervisor_nip": HEAD,
        "acting_supervisor_nip": "",
        "status": "PNS",
        "zone": "WIB",
        "schedule_id": "perpres",
        "device_serial": "",
        "device_pin": "",
    }
    row.update(values)
    return row


HEAD_ROW = _row(
    nip=HEAD, nama="Budi", position_id="KADIS", position_name="Kepala Dinas", job_class="14",
    position_kind="structural", supervisor_nip="", device_serial="CJDE193560303", device_pin="1",
)


def _csv(rows, delimiter=",", columns=COLUMNS):
    lines = [delimiter.join(columns)]
    lines += [delimiter.join(row.get(column, "") for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def test_good_rows_are_kept_and_each_bad_row_reported_with_line_and_field():
    text = _csv(
        [
            HEAD_ROW,  # line 2
            _row(),  # line 3
            _row(nip=CONTRACT, status="PPPK", zone="WIT"),  # line 4
            _row(nip="198502302010011003"),  # line 5: 30 February
            _row(nip="198503122010011004", status="honorer"),  # line 6
            _row(nip="198503122010011005", job_class="20"),  # line 7
            _row(nama="Siti Lain"),  # line 8: same NIP as line 3
        ]
    )
    result = parse_roster(text, TODAY)
    assert [row.nip for row in result.rows] == [HEAD, STAFF, CONTRACT]
    assert [(row.line, row.zone) for row in result.rows] == [
        (2, "Asia/Jakarta"),
        (3, "Asia/Jakarta"),
        (4, "Asia/Jayapura"),
    ]
    assert result.errors == [
        RowError(5, "nip", "birth date 19850230 is not a real date (YYYYMMDD)"),
        RowError(6, "status", "unknown status 'honorer'; use PNS, CPNS or PPPK"),
        RowError(7, "job_class", "job class must be between 1 and 17, got 20"),
        RowError(8, "nip", f"NIP {STAFF} is already on line 3"),
    ]


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"nip": "19850312201001100"}, "nip", "must be exactly 18 digits"),
        ({"nip": "1.98503E+17"}, "nip", "must be exactly 18 digits"),  # what a spreadsheet does to a NIP
        ({"nip": CONTRACT}, "nip", "appointment month 21 is not a month"),  # an NI PPPK on a PNS row
        ({"nip": ""}, "nip", "is required"),
        ({"nama": "  "}, "nama", "is required"),
        ({"unit_id": ""}, "unit_id", "is required"),
        ({"status": "honorer"}, "status", "unknown status"),
        ({"job_class": "20"}, "job_class", "between 1 and 17, got 20"),
        ({"job_class": "0"}, "job_class", "between 1 and 17, got 0"),
        ({"job_class": "7.5"}, "job_class", "must be a whole number"),
        ({"job_class": ""}, "job_class", "is required"),
        ({"position_kind": "manager"}, "position_kind", "unknown position kind"),
        ({"zone": "GMT+7"}, "zone", "unknown zone"),
        ({"zone": "Asia/Tokyo"}, "zone", "unknown zone"),
        ({"supervisor_nip": STAFF}, "supervisor_nip", "cannot be their own supervisor"),
        ({"acting_supervisor_nip": STAFF}, "acting_supervisor_nip", "cannot be their own supervisor"),
        ({"supervisor_nip": "12345"}, "supervisor_nip", "must be exactly 18 digits"),
        ({"acting_supervisor_nip": "197002301995031001"}, "acting_supervisor_nip", "19700230 is not a real date"),
        ({"device_serial": "CJDE193560303"}, "device_pin", "go together"),
        ({"device_pin": "46"}, "device_serial", "go together"),
        ({"device_serial": "CJDE 1935", "device_pin": "46"}, "device_serial", "must be 1-32 letters"),
        ({"device_serial": "CJDE1935", "device_pin": "4-6"}, "device_pin", "must be 1-24 letters or digits"),
    ],
)
def test_a_bad_row_is_refused_naming_the_field(values, field, reason):
    result = parse_roster(_csv([_row(**values)]), TODAY)
    assert result.rows == []
    assert [(error.line, error.field) for error in result.errors] == [(2, field)]
    assert reason in result.errors[0].reason


def test_every_fault_of_a_row_is_reported():
    result = parse_roster(_csv([_row(status="X", zone="Mars", job_class="99")]), TODAY)
    assert [error.field for error in result.errors] == ["status", "job_class", "zone"]


@pytest.mark.parametrize(
    ("values", "attribute", "expected"),
    [
        ({"zone": "wib"}, "zone", "Asia/Jakarta"),
        ({"zone": "WITA"}, "zone", "Asia/Makassar"),
        ({"zone": "Wit"}, "zone", "Asia/Jayapura"),
        ({"zone": "asia/pontianak"}, "zone", "Asia/Pontianak"),
        ({"zone": "Asia/Makassar"}, "zone", "Asia/Makassar"),
        ({"nip": "19850312 201001 1 002"}, "nip", STAFF),
        ({"supervisor_nip": " 19700101 199503 1 001 "}, "supervisor_nip", HEAD),
        ({"supervisor_nip": CONTRACT}, "supervisor_nip", CONTRACT),
        ({"supervisor_nip": ""}, "supervisor_nip", None),
        ({"acting_supervisor_nip": HEAD}, "acting_supervisor_nip", HEAD),
        ({"status": "cpns"}, "status", EmployeeStatus.CPNS),
        ({"nip": CONTRACT, "status": "pppk"}, "status", EmployeeStatus.PPPK),
        ({"position_kind": "Struktural"}, "position_kind", PositionKind.STRUCTURAL),
        ({"position_kind": "fungsional"}, "position_kind", PositionKind.FUNCTIONAL),
        ({"position_kind": "PELAKSANA"}, "position_kind", PositionKind.EXECUTOR),
        ({"job_class": "17"}, "job_class", 17),
        ({"parent_unit_id": ""}, "parent_unit_id", None),
        ({"schedule_id": ""}, "schedule_id", None),
    ],
)
def test_good_values_are_normalised(values, attribute, expected):
    result = parse_roster(_csv([_row(**values)]), TODAY)
    assert result.errors == []
    assert getattr(result.rows[0], attribute) == expected


def test_bom_semicolons_crlf_upper_case_headers_and_quoted_cells():
    header = ";".join(column.upper() for column in COLUMNS)
    cells = _row(unit_name='"Dinas A; Bagian B"')
    text = "\ufeff" + header + "\r\n" + ";".join(cells[column] for column in COLUMNS) + "\r\n"
    result = parse_roster(text, TODAY)
    assert result.errors == []
    assert result.rows[0].nip == STAFF
    assert result.rows[0].unit_name == "Dinas A; Bagian B"


def test_header_names_tolerate_spaces_and_unknown_columns():
    columns = ("NIP", "Nama", "Unit ID", "unit-name", "Position Id", "position_name", "Job Class",
               "position_kind", "Status", "Zone", "Golongan")
    row = _row(**{"NIP": STAFF, "Nama": "Siti", "Unit ID": "DISKOMINFO", "unit-name": "Dinas", "Position Id": "P",
                  "Job Class": "8", "Status": "PNS", "Zone": "WIB", "Golongan": "III/a"})
    result = parse_roster(_csv([row], columns=columns), TODAY)
    assert result.errors == []
    assert (result.rows[0].unit_id, result.rows[0].supervisor_nip, result.rows[0].device_pin) == (
        "DISKOMINFO",
        None,
        None,
    )


def test_a_missing_or_repeated_column_refuses_the_file():
    columns = (*(column for column in COLUMNS if column not in ("zone", "job_class")), "nip")
    result = parse_roster(_csv([_row()], columns=columns), TODAY)
    assert result.rows == []
    assert result.errors == [
        RowError(1, "job_class", "missing column"),
        RowError(1, "zone", "missing column"),
        RowError(1, "nip", "column appears twice"),
    ]


@pytest.mark.parametrize("text", ["", "\ufeff"])
def test_an_empty_file_is_one_error(text):
    assert parse_roster(text, TODAY).errors == [RowError(1, "header", "the file is empty")]


def test_line_numbers_count_blank_lines_and_quoted_line_breaks():
    header = ",".join(COLUMNS)
    multiline = ",".join(_row(nama='"Siti\nAminah"')[column] for column in COLUMNS)
    bad = ",".join(_row(nip=HEAD, supervisor_nip="", job_class="x")[column] for column in COLUMNS)
    empty = "," * (len(COLUMNS) - 1)
    text = "\n".join([header, "", multiline, empty, bad]) + "\n"
    result = parse_roster(text, TODAY)
    assert result.rows[0].line == 3
    assert result.rows[0].name == "Siti\nAminah"
    assert result.errors == [RowError(6, "job_class", "job class must be a whole number, got 'x'")]


def test_extra_cells_beyond_the_header_are_an_error_unless_empty():
    text = _csv([_row()]).rstrip("\n")
    assert parse_roster(text + ",,\n", TODAY).errors == []
    assert parse_roster(text + ",oops\n", TODAY).errors == [RowError(2, "row", "has 17 cells but the header has 16")]


def test_one_device_pin_cannot_belong_to_two_employees():
    text = _csv([HEAD_ROW, _row(device_serial="CJDE193560303", device_pin="1"), _row(nip=CONTRACT, status="PPPK",
                 device_serial="OTHER1", device_pin="1")])
    result = parse_roster(text, TODAY)
    assert [row.nip for row in result.rows] == [HEAD, CONTRACT]
    assert result.errors == [RowError(3, "device_pin", "PIN 1 on device CJDE193560303 is already on line 2")]


def test_a_row_gives_its_employee_and_enrolment():
    head, staff = parse_roster(_csv([HEAD_ROW, _row(acting_supervisor_nip=CONTRACT)]), TODAY).rows
    assert staff.employee() == Employee(
        STAFF, "Siti Aminah", "DISKOMINFO", "PRANATA-KOM", EmployeeStatus.PNS, "Asia/Jakarta", HEAD, CONTRACT, "perpres"
    )
    assert head.enrolment() == DeviceEnrolment("CJDE193560303", "1", HEAD)
    assert staff.enrolment() is None


def test_units_and_positions_are_derived_with_conflicts_reported():
    rows = parse_roster(
        _csv(
            [
                HEAD_ROW,  # line 2
                _row(),  # line 3
                _row(nip="198503122010011005", unit_name="Diskominfo", parent_unit_id=""),  # line 4
                _row(nip="198503122010011006", unit_id="DINKES", unit_name="Dinas Kesehatan", job_class="9"),  # 5
                _row(nip="198503122010011007", position_kind="executor"),  # line 6
            ]
        ),
        TODAY,
    ).rows
    units, unit_conflicts = units_from_rows(rows)
    assert units == [
        Unit("DISKOMINFO", "Dinas Komunikasi dan Informatika", "PEMKAB"),
        Unit("DINKES", "Dinas Kesehatan", "PEMKAB"),
    ]
    assert unit_conflicts == [
        RowError(4, "unit_name", "unit_id DISKOMINFO has unit_name 'Dinas Komunikasi dan Informatika' on line 2"),
        RowError(4, "parent_unit_id", "unit_id DISKOMINFO has parent_unit_id 'PEMKAB' on line 2"),
    ]
    positions, position_conflicts = positions_from_rows(rows)
    assert positions == [
        Position("KADIS", "Kepala Dinas", 14, PositionKind.STRUCTURAL),
        Position("PRANATA-KOM", "Pranata Komputer Ahli Pertama", 8, PositionKind.FUNCTIONAL),
    ]
    assert position_conflicts == [
        RowError(5, "job_class", "position_id PRANATA-KOM has job_class '8' on line 3"),
        RowError(6, "position_kind", "position_id PRANATA-KOM has position_kind 'functional' on line 3"),
    ]


def test_a_unit_given_a_parent_after_none_is_a_conflict():
    rows = parse_roster(_csv([_row(parent_unit_id=""), _row(nip="198503122010011005")]), TODAY).rows
    assert units_from_rows(rows) == (
        [Unit("DISKOMINFO", "Dinas Komunikasi dan Informatika", None)],
        [RowError(3, "parent_unit_id", "unit_id DISKOMINFO has parent_unit_id empty on line 2")],
    )
