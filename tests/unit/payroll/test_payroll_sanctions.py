"""The sanction rule: which month of its term a sanction is in, and what it cuts then."""
import pytest

from payroll.domain.policy import load_policy
from payroll.domain.tpp import sanction_month, sanction_percent


@pytest.mark.parametrize("year, month, expected", [
    (2026, 10, None),  # before it starts
    (2026, 11, 1),
    (2026, 12, 2),
    (2027, 1, 3),      # across the year
    (2027, 2, None),   # after its three months
])
def test_the_month_of_a_three_month_sanction_from_november(year, month, expected):
    assert sanction_month(2026, 11, 3, year, month) == expected


def test_a_sanction_longer_than_its_table_keeps_the_last_percent():
    policy = load_policy({})
    table = policy.sanctions["light"]
    assert [sanction_percent("light", i, policy) for i in range(1, len(table) + 1)] == list(table)
    assert sanction_percent("light", len(table) + 5, policy) == table[-1]
