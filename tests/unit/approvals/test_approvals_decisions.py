from datetime import date

import pytest

from approvals.domain import Decision, EntryState, EntryUnderDecision, can_decide, decide, decide_many

STAFF = "199001012015031001"
KABID = "197805122003121002"  # the staff's direct supervisor
PLT = "198002022005011003"  # acting supervisor (Plt) while the post is vacant
KADIS = "197001011995031004"  # head of the office, next up


def entry(entry_id="E1", state=EntryState.SUBMITTED, free=False, local_date=date(2024, 5, 8), **changes):
    fields = dict(entry_id=entry_id, employee_id=STAFF, local_date=local_date, state=state, duration_minutes=90,
                  free_description=free, approver_id=KABID)
    return EntryUnderDecision(**{**fields, **changes})


@pytest.mark.parametrize(
    "decider, owner, approver, target, allowed",
    [
        (KABID, STAFF, KABID, None, True),
        (STAFF, STAFF, KABID, None, False),  # own work
        (KABID, KABID, KABID, None, False),  # even when named approver of their own entry
        (KADIS, STAFF, KABID, None, False),  # a superior before the deadline
        (KADIS, STAFF, KABID, KADIS, True),  # ... and after it, as escalation target
        (KABID, STAFF, KABID, KADIS, True),  # the late approver may still decide
        (PLT, STAFF, PLT, None, True),  # Plt takes over
        (KABID, STAFF, PLT, None, False),  # the absent holder does not
        (KADIS, KABID, KADIS, None, True),  # a head of unit's entry goes to their superior
        ("199901012022011001", STAFF, KABID, None, False),  # a colleague
    ],
)
def test_who_may_decide(decider, owner, approver, target, allowed):
    assert can_decide(decider, owner, approver, target) is allowed


@pytest.mark.parametrize(
    "decision, state, minutes",
    [
        (Decision.approve(), EntryState.APPROVED, None),
        (Decision.reject("uraian tidak jelas"), EntryState.REJECTED, None),
        (Decision.strike("tidak berkontribusi pada SKPD"), EntryState.STRUCK, None),
    ],
)
def test_decisions_on_a_submitted_entry(decision, state, minutes):
    outcome = decide(entry(), decision, KABID, closed_months=set())
    assert (outcome.ok, outcome.state, outcome.accepted_minutes, outcome.errors) == (True, state, minutes, ())


@pytest.mark.parametrize("minutes", [0, 45, 90])
def test_minutes_accepted_for_a_free_description(minutes):
    outcome = decide(entry(free=True), Decision.set_minutes(minutes), KABID, set())
    assert (outcome.ok, outcome.state, outcome.accepted_minutes) == (True, EntryState.SUBMITTED, minutes)


@pytest.mark.parametrize(
    "subject, decision, decider, closed, reason",
    [
        (entry(), Decision.approve(), STAFF, set(), "own work"),
        (entry(), Decision.approve(), KADIS, set(), "only the entry's approver"),
        (entry(), Decision.reject("  "), KABID, set(), "reason is required to reject"),
        (entry(), Decision.strike(""), KABID, set(), "reason is required to strike"),
        (entry(state=EntryState.APPROVED), Decision.reject("salah"), KABID, set(), "entry is approved"),
        (entry(state=EntryState.STRUCK), Decision.approve(), KABID, set(), "entry is struck"),
        (entry(state=EntryState.WITHDRAWN), Decision.approve(), KABID, set(), "entry is withdrawn"),
        (entry(state=EntryState.REJECTED), Decision.approve(), KABID, set(), "entry is rejected"),
        (entry(), Decision.approve(), KABID, {"2024-05"}, "month is closed"),
        (entry(), Decision.set_minutes(30), KABID, set(), "only for a free description"),
        (entry(free=True), Decision.set_minutes(91), KABID, set(), "between 0 and the entry's duration (90)"),
        (entry(free=True), Decision.set_minutes(-1), KABID, set(), "between 0 and the entry's duration (90)"),
    ],
)
def test_refused_decisions_say_why_and_leave_the_entry_as_it_was(subject, decision, decider, closed, reason):
    outcome = decide(subject, decision, decider, closed)
    assert (outcome.ok, outcome.state) == (False, subject.state)
    assert any(reason in error for error in outcome.errors)


def test_an_earlier_month_that_is_closed_does_not_block_this_one():
    assert decide(entry(), Decision.approve(), KABID, {"2024-04"}).ok


def test_every_reason_is_given_at_once():
    outcome = decide(entry(state=EntryState.APPROVED), Decision.strike(""), STAFF, {"2024-05"})
    assert len(outcome.errors) == 4


def test_a_bulk_decision_handles_each_entry_on_its_own():
    selection = [
        entry("E1"),
        entry("E2", state=EntryState.WITHDRAWN),
        entry("E3", employee_id=KABID),  # the supervisor's own entry slipped into the selection
        entry("E4", local_date=date(2024, 4, 30)),
        entry("E5"),
    ]
    outcomes = decide_many(selection, Decision.approve(), KABID, closed_months={"2024-04"})
    assert [(o.entry_id, o.ok) for o in outcomes] == [
        ("E1", True), ("E2", False), ("E3", False), ("E4", False), ("E5", True)
    ]
    assert [o.state for o in outcomes if o.ok] == [EntryState.APPROVED, EntryState.APPROVED]
