from datetime import date

import pytest
from marshmallow import ValidationError

from activities.domain import ActivitiesPolicy, EntryWindow, EvidencePolicy, WindowMode, load_policy


def test_an_empty_section_gives_the_national_defaults():
    policy = load_policy({})
    assert policy == ActivitiesPolicy()
    assert policy.entry_window.mode == WindowMode.WITHIN_DAYS
    assert policy.evidence == EvidencePolicy(False, 5 * 1024 * 1024, ("image/jpeg", "image/png", "application/pdf"))
    assert policy.daily_credit_cap_minutes is None


def test_a_belitung_timur_section_loads():
    policy = load_policy({
        "entry_window": {"mode": "biweekly", "period_anchor": date(2024, 1, 1)},
        "evidence": {"required": True, "types": ["image/jpeg", "image/png"]},
    })
    assert policy.entry_window == EntryWindow(WindowMode.BIWEEKLY, 3, date(2024, 1, 1))
    assert policy.evidence == EvidencePolicy(True, 5 * 1024 * 1024, ("image/jpeg", "image/png"))


def test_an_iso_date_string_is_accepted_as_the_anchor():
    policy = load_policy({"entry_window": {"period_anchor": "2024-01-15"}})
    assert policy.entry_window.period_anchor == date(2024, 1, 15)


@pytest.mark.parametrize(
    "section, path",
    [
        ({"entry_window": {"mode": "weekly"}}, ("entry_window", "mode")),
        ({"entry_window": {"days": -1}}, ("entry_window", "days")),
        ({"entry_window": {"days": "3"}}, ("entry_window", "days")),
        ({"entry_window": {"period_anchor": "next monday"}}, ("entry_window", "period_anchor")),
        ({"evidence": {"max_bytes": 0}}, ("evidence", "max_bytes")),
        ({"evidence": {"types": ["text/plain"]}}, ("evidence", "types")),
        ({"evidence": {"types": []}}, ("evidence", "types")),
        ({"evidence": {"requierd": True}}, ("evidence", "requierd")),
        ({"daily_credit_cap_minutes": 0}, ("daily_credit_cap_minutes",)),
        ({"window": {}}, ("window",)),
    ],
)
def test_errors_name_the_field_at_fault(section, path):
    with pytest.raises(ValidationError) as caught:
        load_policy(section)
    messages = caught.value.messages
    for key in path:
        messages = messages[key]
    assert messages
