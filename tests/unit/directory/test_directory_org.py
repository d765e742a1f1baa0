import pytest

from directory.domain.org import (
    Employee,
    EmployeeStatus,
    OrgError,
    Unit,
    UnknownEmployee,
    approver_for,
    superior_of,
    validate_supervision,
    validate_unit_tree,
)


def _units(*pairs):
    return [Unit(unit_id, unit_id.title(), parent_id) for unit_id, parent_id in pairs]


@pytest.mark.parametrize(
    ("pairs", "errors"),
    [
        ([("PEMKAB", None), ("DINKES", "PEMKAB"), ("PUSKESMAS1", "DINKES")], []),
        ([("DINKES", "PEMKAB")], [OrgError("DINKES", "parent_id", "parent unit PEMKAB does not exist")]),
        ([("DINKES", "DINKES")], [OrgError("DINKES", "parent_id", "forms a cycle: DINKES → DINKES")]),
        (
            [("PEMKAB", None), ("A", "B"), ("B", "A"), ("C", "A")],
            [
                OrgError("A", "parent_id", "forms a cycle: A → B → A"),
                OrgError("B", "parent_id", "forms a cycle: B → A → B"),
            ],
        ),
        ([("PEMKAB", None), ("PEMKAB", None)], [OrgError("PEMKAB", "unit_id", "unit PEMKAB is listed twice")]),
    ],
)
def test_unit_tree_faults(pairs, errors):
    assert validate_unit_tree(_units(*pairs)) == errors


def _people(*lines):
    """Employees from (id, supervisor, acting supervisor) triples."""
    return {
        employee_id: Employee(employee_id, employee_id, "U", "P", EmployeeStatus.PNS, "Asia/Jakarta", boss, acting)
        for employee_id, boss, acting in lines
    }


OFFICE = _people(
    ("sekda", None, None),
    ("kadis", "sekda", None),
    ("kabid", "kadis", None),
    ("staff", "kabid", None),
    ("plt-staff", "kabid", "kadis"),  # the Kabid is away: the Kadis acts (Plt) for this report
    ("ghost-plt", "kabid", "retired"),  # the Plt is no longer in the directory
    ("self-plt", "kadis", "self-plt"),
    ("orphan", "retired", None),
)


@pytest.mark.parametrize(
    ("employee_id", "approver"),
    [
        ("staff", "kabid"),
        ("kabid", "kadis"),
        ("plt-staff", "kadis"),
        ("ghost-plt", "kabid"),
        ("self-plt", "kadis"),
        ("sekda", None),
        ("orphan", None),
    ],
)
def test_approver_is_the_plt_when_set_else_the_direct_supervisor(employee_id, approver):
    assert approver_for(employee_id, OFFICE) == approver


@pytest.mark.parametrize(
    ("employee_id", "levels", "superior"),
    [
        ("staff", 1, "kabid"),
        ("staff", 2, "kadis"),
        ("staff", 3, "sekda"),
        ("staff", 4, None),
        ("plt-staff", 2, "sekda"),
        ("kabid", 2, "sekda"),
    ],
)
def test_superior_walks_up_the_approval_line(employee_id, levels, superior):
    assert superior_of(employee_id, OFFICE, levels) == superior


LOOP = _people(("a", "b", None), ("b", "c", None), ("c", "a", None), ("d", "a", None))


@pytest.mark.parametrize(
    ("employee_id", "levels", "superior"),
    [("a", 1, "b"), ("a", 2, "c"), ("a", 3, None), ("a", 10, None), ("d", 3, "c"), ("d", 4, None)],
)
def test_a_supervision_loop_ends_the_walk(employee_id, levels, superior):
    assert superior_of(employee_id, LOOP, levels) == superior


def test_an_unknown_employee_is_an_error():
    with pytest.raises(UnknownEmployee):
        approver_for("nobody", OFFICE)


def test_supervision_faults():
    assert validate_supervision(OFFICE) == [
        OrgError("ghost-plt", "acting_supervisor_id", "retired is not in the directory"),
        OrgError("self-plt", "acting_supervisor_id", "an employee cannot supervise themself"),
        OrgError("orphan", "supervisor_id", "retired is not in the directory"),
    ]
    assert validate_supervision(LOOP) == [
        OrgError("a", "supervisor_id", "forms a cycle: a → b → c → a"),
        OrgError("b", "supervisor_id", "forms a cycle: b → c → a → b"),
        OrgError("c", "supervisor_id", "forms a cycle: c → a → b → c"),
    ]


def test_a_plt_can_close_an_approval_loop():
    mutual = _people(("kabid", "kadis", None), ("kadis", None, "kabid"))
    assert [error.subject_id for error in validate_supervision(mutual)] == ["kabid", "kadis"]
