from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from approvals.domain import ApprovalsPolicy, DeadlineMode, DecisionDeadline, VerificationPolicy, load_policy


def test_an_empty_section_gives_the_national_defaults():
    policy = load_policy({})
    assert policy == ApprovalsPolicy()
    assert policy.decision_deadline.mode == DeadlineMode.DAYS
    assert policy.verification == VerificationPolicy(Decimal(0), False)


def test_a_banda_aceh_section_loads():
    policy = load_policy({
        "decision_deadline": {"mode": "weekly", "weekday": "friday"},
        "escalation_step_days": 2,
        "verification": {"rate": 1, "required_before_credit": True},
    })
    assert policy.decision_deadline == DecisionDeadline(DeadlineMode.WEEKLY, 4, 5, date(2024, 1, 1))
    assert policy.escalation_step_days == 2
    assert policy.verification == VerificationPolicy(Decimal(1), True)


@pytest.mark.parametrize("rate, expected", [(0.1, Decimal("0.1")), ("0.25", Decimal("0.25")), (1, Decimal(1))])
def test_a_rate_is_read_exactly(rate, expected):
    assert load_policy({"verification": {"rate": rate}}).verification.rate == expected


@pytest.mark.parametrize(
    "section, path",
    [
        ({"decision_deadline": {"mode": "monthly"}}, ("decision_deadline", "mode")),
        ({"decision_deadline": {"weekday": "jumat"}}, ("decision_deadline", "weekday")),
        ({"decision_deadline": {"days": -1}}, ("decision_deadline", "days")),
        ({"decision_deadline": {"period_anchor": "soon"}}, ("decision_deadline", "period_anchor")),
        ({"escalation_step_days": 0}, ("escalation_step_days",)),
        ({"verification": {"rate": 1.5}}, ("verification", "rate")),
        ({"verification": {"rate": "all"}}, ("verification", "rate")),
        ({"verification": {"rate": -0.1}}, ("verification", "rate")),
        ({"verification": {"rate": "NaN"}}, ("verification", "rate")),
        ({"deadline": {}}, ("deadline",)),
    ],
)
def test_errors_name_the_field_at_fault(section, path):
    with pytest.raises(ValidationError) as caught:
        load_policy(section)
    messages = caught.value.messages
    for key in path:
        messages = messages[key]
    assert messages
