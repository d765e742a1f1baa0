from datetime import UTC, date, datetime, timedelta

import pytest

from activities.domain import (
    ActivitiesPolicy,
    ActivityEntry,
    CatalogueItem,
    EntryDraft,
    EntryState,
    EntryWindow,
    EvidencePolicy,
    WindowMode,
    credited_minutes,
    cap_day_total,
    earliest_entry_date,
    validate_entry,
)

NIP = "198503302010011002"
TODAY = date(2024, 5, 15)  # a Wednesday
POLICY = ActivitiesPolicy()


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def draft(start="01:00", end="02:00", day=TODAY, **changes) -> EntryDraft:
    fields = dict(employee_id=NIP, local_date=day, start_at=at(day, start), end_at=at(day, end),
                  catalogue_item_id="K-01")
    return EntryDraft(**{**fields, **changes})


def stored(entry_id, start, end, state=EntryState.SUBMITTED, day=TODAY) -> ActivityEntry:
    return ActivityEntry(entry_id, NIP, day, at(day, start), at(day, end), "K-01", 1, 60, 60, state)


def fields_of(errors) -> list[str]:
    return [error.field for error in errors]


def test_a_valid_entry_has_no_errors():
    assert validate_entry(draft(), TODAY, [], POLICY) == []


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"end_at": at(TODAY, "01:00")}, "end_at"),  # ends when it starts
        ({"end_at": at(TODAY, "00:30")}, "end_at"),  # ends before it starts
        ({"end_at": at(TODAY, "01:00") + timedelta(hours=25)}, "end_at"),
        ({"start_at": datetime(2024, 5, 15, 1, 0)}, "start_at"),  # no time zone
        ({"local_date": TODAY + timedelta(days=1)}, "local_date"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -2}, "quantity"),
        ({"catalogue_item_id": None, "description": "   "}, "catalogue_item_id"),
    ],
)
def test_each_invalid_field_is_named(changes, field):
    assert fields_of(validate_entry(draft(**changes), TODAY, [], POLICY)) == [field]


def test_a_free_description_replaces_the_catalogue_item():
    assert validate_entry(draft(catalogue_item_id=None, description="Rapat koordinasi"), TODAY, [], POLICY) == []


def test_all_errors_are_reported_together():
    bad = draft(end="00:30", quantity=0, catalogue_item_id=None)
    assert fields_of(validate_entry(bad, TODAY, [], POLICY)) == ["end_at", "quantity", "catalogue_item_id"]


@pytest.mark.parametrize(
    "evidence_required, evidence_ids, expected",
    [(True, (), ["evidence_ids"]), (True, ("ev-1",), []), (False, (), [])],
)
def test_evidence_is_demanded_only_where_the_region_requires_it(evidence_required, evidence_ids, expected):
    policy = ActivitiesPolicy(evidence=EvidencePolicy(required=evidence_required))
    assert fields_of(validate_entry(draft(evidence_ids=evidence_ids), TODAY, [], policy)) == expected


@pytest.mark.parametrize(
    "other, overlaps",
    [
        (stored("E1", "00:00", "01:00"), False),  # ends as the draft starts
        (stored("E1", "02:00", "03:00"), False),  # starts as the draft ends
        (stored("E1", "00:30", "01:30"), True),
        (stored("E1", "01:15", "01:45"), True),  # inside
        (stored("E1", "00:00", "03:00"), True),  # around
        (stored("E1", "01:00", "02:00"), True),  # identical
        (stored("E1", "01:00", "02:00", EntryState.APPROVED), True),
        (stored("E1", "01:00", "02:00", EntryState.WITHDRAWN), False),
        (stored("E1", "01:00", "02:00", EntryState.STRUCK), False),
        (stored("E1", "01:00", "02:00", EntryState.REJECTED), False),
    ],
)
def test_overlap_with_the_employees_live_entries(other, overlaps):
    errors = validate_entry(draft(), TODAY, [other], POLICY)
    assert fields_of(errors) == (["start_at"] if overlaps else [])
    if overlaps:
        assert "E1" in errors[0].message


def test_an_edited_entry_does_not_overlap_its_own_previous_version():
    assert validate_entry(draft(entry_id="E1"), TODAY, [stored("E1", "01:00", "02:00")], POLICY) == []


def test_each_overlapped_entry_is_named():
    others = [stored("E1", "00:30", "01:10"), stored("E2", "01:50", "02:30")]
    messages = [error.message for error in validate_entry(draft(), TODAY, others, POLICY)]
    assert ["E1" in messages[0], "E2" in messages[1]] == [True, True]


PERIOD_ANCHOR = date(2024, 5, 6)  # a Monday: periods 6–19 May, 20 May–2 Jun, 22 Apr–5 May, ...


@pytest.mark.parametrize(
    "window, entry_date, accepted",
    [
        (EntryWindow(WindowMode.DAILY), TODAY, True),
        (EntryWindow(WindowMode.DAILY), TODAY - timedelta(days=1), False),
        (EntryWindow(WindowMode.WITHIN_DAYS, days=3), TODAY - timedelta(days=3), True),
        (EntryWindow(WindowMode.WITHIN_DAYS, days=3), TODAY - timedelta(days=4), False),
        (EntryWindow(WindowMode.WITHIN_DAYS, days=0), TODAY, True),
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=PERIOD_ANCHOR), date(2024, 5, 6), True),  # current
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=PERIOD_ANCHOR), date(2024, 4, 22), True),  # just ended
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=PERIOD_ANCHOR), date(2024, 4, 21), False),
        # The anchor may lie in the future: periods repeat every 14 days both ways.
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=date(2025, 1, 13)), date(2024, 4, 22), True),
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=date(2025, 1, 13)), date(2024, 4, 21), False),
    ],
)
def test_entry_windows(window, entry_date, accepted):
    policy = ActivitiesPolicy(entry_window=window)
    errors = validate_entry(draft(day=entry_date), TODAY, [], policy)
    assert fields_of(errors) == ([] if accepted else ["local_date"])


@pytest.mark.parametrize(
    "window, today, earliest",
    [
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=PERIOD_ANCHOR), date(2024, 5, 19), date(2024, 4, 22)),
        (EntryWindow(WindowMode.BIWEEKLY, period_anchor=PERIOD_ANCHOR), date(2024, 5, 20), date(2024, 5, 6)),
        (EntryWindow(WindowMode.WITHIN_DAYS, days=7), date(2024, 3, 1), date(2024, 2, 23)),
    ],
)
def test_earliest_entry_date_moves_with_the_period(window, today, earliest):
    assert earliest_entry_date(today, window) == earliest


def test_the_window_message_says_from_when():
    policy = ActivitiesPolicy(entry_window=EntryWindow(WindowMode.WITHIN_DAYS, days=3))
    [error] = validate_entry(draft(day=date(2024, 5, 1)), TODAY, [], policy)
    assert "2024-05-12" in error.message


ITEM = CatalogueItem("K-01", None, None, "Mengagendakan surat masuk", norm_minutes=10, output_unit="surat")


@pytest.mark.parametrize(
    "item, quantity, duration, accepted, cap, expected",
    [
        (ITEM, 3, 60, None, None, 30),  # norm × quantity
        (ITEM, 9, 60, None, None, 60),  # bounded by the time the entry spans
        (ITEM, 3, 60, 50, None, 30),  # a catalogue item ignores accepted minutes
        (None, 1, 90, None, None, 0),  # free description, not yet accepted
        (None, 1, 90, 45, None, 45),
        (None, 1, 90, 120, None, 90),
        (ITEM, 50, 600, None, 450, 450),  # daily cap
    ],
)
def test_credited_minutes(item, quantity, duration, accepted, cap, expected):
    policy = ActivitiesPolicy(daily_credit_cap_minutes=cap)
    assert credited_minutes(item, quantity, duration, accepted, policy) == expected


@pytest.mark.parametrize("cap, expected", [(None, 500), (450, 450), (600, 500)])
def test_a_days_total_is_cut_to_the_cap(cap, expected):
    assert cap_day_total([200, 300], ActivitiesPolicy(daily_credit_cap_minutes=cap)) == expected
