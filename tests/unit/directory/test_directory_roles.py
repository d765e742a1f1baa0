import pytest

from directory.domain.roles import ROLES, InvalidRole, Role, parse_roles


def test_the_six_roles():
    assert {"staff", "supervisor", "verifier", "finance", "admin", "ops"} == ROLES


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["staff"], {Role.STAFF}),
        (["supervisor", "staff", "supervisor"], {Role.SUPERVISOR, Role.STAFF}),
        (("finance", "verifier", "admin", "ops"), {Role.FINANCE, Role.VERIFIER, Role.ADMIN, Role.OPS}),
        ([], set()),
    ],
)
def test_known_role_names_are_parsed(names, expected):
    assert parse_roles(names) == expected


@pytest.mark.parametrize("name", ["Admin", "root", "", " staff", "pegawai"])
def test_an_unknown_role_is_refused_naming_the_allowed_ones(name):
    with pytest.raises(InvalidRole) as refused:
        parse_roles(["staff", name])
    assert refused.value.name == name
    assert "allowed: admin, finance, ops, staff, supervisor, verifier" in str(refused.value)
