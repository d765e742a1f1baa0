"""The roles a user can hold; each grants a set of actions checked by every service."""

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    """A user role, written in lower case in tokens and files."""

    STAFF = "staff"  # logs own activities and sees own attendance
    SUPERVISOR = "supervisor"  # approves, rejects or strikes (coret) direct reports' activities
    VERIFIER = "verifier"  # independent assessment unit: verifies entries and approvals, closes the month
    FINANCE = "finance"  # BPKAD: runs and finalises the monthly TPP payroll
    ADMIN = "admin"  # maintains the directory: units, employees, schedules, devices, users
    OPS = "ops"  # Diskominfo: monitors services, devices and queues


ROLES = frozenset(Role)


class InvalidRole(ValueError):
    """A role name that is not one of ROLES."""

    def __init__(self, name: str):
        allowed = ", ".join(sorted(ROLES))
        super().__init__(f"unknown role {name!r}; allowed: {allowed}")
        self.name = name


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """The roles named exactly (lower case) in `names`, raising InvalidRole on the first unknown one."""
    roles = set()
    for name in names:
        if name not in ROLES:
            raise InvalidRole(name)
        roles.add(Role(name))
    return frozenset(roles)
