from datetime import date

import pytest

from approvals.domain import (
    ApprovalsPolicy,
    DeadlineMode,
    DecisionDeadline,
    Timeliness,
    due_at,
    escalation_level,
    escalation_target,
    timeliness,
)

FRIDAY = 4
WEEKLY = ApprovalsPolicy(DecisionDeadline(DeadlineMode.WEEKLY, weekday=FRIDAY), escalation_step_days=3)
BIWEEKLY = ApprovalsPolicy(DecisionDeadline(DeadlineMode.BIWEEKLY, days=5, period_anchor=date(2024, 1, 1)))
DAYS = ApprovalsPolicy(DecisionDeadline(DeadlineMode.DAYS, days=2))


@pytest.mark.parametrize(
    "policy, entry_date, due",
    [
        # Weekly: the week of Mon 6 – Sun 12 May is due on Friday 17 May.
        (WEEKLY, date(2024, 5, 6), date(2024, 5, 17)),
        (WEEKLY, date(2024, 5, 10), date(2024, 5, 17)),
        (WEEKLY, date(2024, 5, 12), date(2024, 5, 17)),
        (WEEKLY, date(2024, 5, 13), date(2024, 5, 24)),
        (ApprovalsPolicy(DecisionDeadline(DeadlineMode.WEEKLY, weekday=0)), date(2024, 5, 12), date(2024, 5, 13)),
        # Biweekly from Mon 1 Jan 2024: the period 6–19 May is due five days after it ends.
        (BIWEEKLY, date(2024, 5, 6), date(2024, 5, 24)),
        (BIWEEKLY, date(2024, 5, 19), date(2024, 5, 24)),
        (BIWEEKLY, date(2024, 5, 20), date(2024, 6, 7)),
        (BIWEEKLY, date(2023, 12, 31), date(2024, 1, 5)),  # before the anchor
        (DAYS, date(2024, 5, 30), date(2024, 6, 1)),
    ],
)
def test_due_dates(policy, entry_date, due):
    assert due_at(entry_date, policy) == due


@pytest.mark.parametrize(
    "today, level",
    [
        (date(2024, 5, 13), 0),
        (date(2024, 5, 17), 0),  # the due day itself is on time
        (date(2024, 5, 18), 1),
        (date(2024, 5, 20), 1),
        (date(2024, 5, 21), 2),
        (date(2024, 5, 24), 3),
    ],
)
def test_an_overdue_entry_climbs_one_level_per_step(today, level):
    assert escalation_level(date(2024, 5, 8), today, WEEKLY) == level


@pytest.mark.parametrize("today, level", [(date(2024, 5, 24), 0), (date(2024, 5, 25), 1), (date(2024, 5, 28), 2)])
def test_biweekly_escalation(today, level):
    assert escalation_level(date(2024, 5, 10), today, BIWEEKLY) == level


@pytest.mark.parametrize("level, target", [(0, "kabid"), (1, "kadis"), (2, "sekda"), (7, "sekda")])
def test_escalation_target_stops_at_the_top_of_the_chain(level, target):
    assert escalation_target(["kabid", "kadis", "sekda"], level) == target


@pytest.mark.parametrize(
    "decided_on, expected",
    [
        (date(2024, 5, 16), Timeliness(True, 0)),
        (date(2024, 5, 17), Timeliness(True, 0)),
        (date(2024, 5, 18), Timeliness(False, 1)),
        (date(2024, 5, 27), Timeliness(False, 10)),
    ],
)
def test_timeliness_for_the_supervisors_record(decided_on, expected):
    assert timeliness(decided_on, date(2024, 5, 17)) == expected
