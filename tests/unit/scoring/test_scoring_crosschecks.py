from dataclasses import fields, replace

import pytest
from scoring_builders import MONDAY, NIP, at, day, entry

from scoring.domain.crosschecks import Absence, Day, assign_entries_to_days, check_day, diff_flags
from scoring.domain.policy import load_policy
from scoring.domain.vocabulary import FlagKind as K

POLICY = load_policy({})
WORK = [entry("e1", "07:30", "12:00"), entry("e2", "13:00", "16:00")]
NIGHT = dict(
    scheduled_start=at("22:00"),
    scheduled_end=at("06:00", next_day=True),
    clock_in=at("21:55"),
    clock_out=at("06:05", next_day=True),
    presence_minutes=490,
)
DUTY_AFTERNOON = Absence("duty", "ST-12/2024", at("13:00"), at("18:00"))


@pytest.mark.parametrize(
    "the_day, entries, absences, expected",
    [
        pytest.param(day(), WORK, [], [], id="clean day"),
        pytest.param(
            day(clock_out=at("16:30"), overtime_minutes=30, presence_minutes=545), WORK, [], [],
            id="half an hour of overtime under a 60-minute threshold",
        ),
        pytest.param(
            day(clock_out=at("17:30"), overtime_minutes=90, presence_minutes=605), WORK, [],
            [K.OVERTIME_WITHOUT_ACTIVITY], id="overtime without activity",
        ),
        pytest.param(
            day(clock_out=at("17:30"), overtime_minutes=90, presence_minutes=605),
            WORK + [entry("e3", "16:00", "17:30")], [], [], id="overtime covered by an approved activity",
        ),
        pytest.param(
            day(clock_out=at("17:30"), overtime_minutes=90, presence_minutes=605),
            WORK + [entry("e3", "16:00", "17:00", state="submitted")], [], [],
            id="overtime two-thirds covered by a pending activity",
        ),
        pytest.param(
            day(clock_out=at("17:30"), overtime_minutes=90, presence_minutes=605),
            WORK + [entry("e3", "16:00", "16:30")], [], [K.OVERTIME_WITHOUT_ACTIVITY],
            id="overtime covered a third, below the ratio",
        ),
        pytest.param(
            day(clock_out=at("17:30"), overtime_minutes=90, presence_minutes=605),
            WORK + [entry("e3", "16:00", "17:30", state="rejected")], [], [K.OVERTIME_WITHOUT_ACTIVITY],
            id="overtime covered only by a rejected activity",
        ),
        pytest.param(
            day(), WORK + [entry("e3", "06:00", "07:00")], [], [K.ACTIVITY_OUTSIDE_ATTENDANCE],
            id="activity before clock-in",
        ),
        pytest.param(
            day(), [entry("e1", "07:15", "12:00"), entry("e2", "13:00", "16:15")], [], [],
            id="edges within the tolerance",
        ),
        pytest.param(
            day(), WORK + [entry("e3", "06:00", "07:00", state="struck")], [], [], id="struck entry ignored",
        ),
        pytest.param(
            day(), WORK + [entry("e3", "16:30", "17:30")], [DUTY_AFTERNOON], [],
            id="activity after clock-out covered by official duty",
        ),
        pytest.param(
            day(status="duty", absence_kind="duty", absence_reference="ST-9", clock_in=None, clock_out=None,
                punch_ids=(), presence_minutes=0),
            [entry("e1", "09:00", "15:00")], [], [], id="whole day on official duty",
        ),
        pytest.param(
            day(status="absent", clock_in=None, clock_out=None, punch_ids=(), presence_minutes=0),
            [entry("e1", "08:00", "10:00")], [], [K.ACTIVITY_WITHOUT_ATTENDANCE],
            id="activity on a day without punches",
        ),
        pytest.param(None, [entry("e1", "08:00", "10:00")], [], [K.ACTIVITY_WITHOUT_ATTENDANCE],
                     id="activity and no attendance day at all"),
        pytest.param(None, [entry("e1", "14:00", "16:00")], [DUTY_AFTERNOON], [],
                     id="no attendance day but activity inside official duty"),
        pytest.param(
            day(status="leave", absence_kind="leave", clock_in=None, clock_out=None, punch_ids=(),
                presence_minutes=0),
            [entry("e1", "08:00", "10:00")], [], [], id="activity on a leave day",
        ),
        pytest.param(
            day(), [entry("e1", "08:00", "10:00"), entry("e2", "09:30", "11:00")], [],
            [K.OVERLAPPING_ACTIVITIES], id="overlapping activities",
        ),
        pytest.param(
            day(), [entry("e1", "08:00", "10:00"), entry("e2", "10:00", "11:00")], [], [],
            id="touching activities do not overlap",
        ),
        pytest.param(
            day(presence_minutes=300), WORK, [], [K.ACTIVITY_EXCEEDS_PRESENCE],
            id="activity minutes exceed presence",
        ),
        pytest.param(day(presence_minutes=440), WORK, [], [], id="activity minutes within presence + tolerance"),
        pytest.param(day(), [], [], [K.PRESENT_WITHOUT_ACTIVITY], id="present all day without activity"),
        pytest.param(
            day(), [entry("e1", "08:00", "10:00", state="withdrawn")], [], [K.PRESENT_WITHOUT_ACTIVITY],
            id="only a withdrawn entry counts as no activity",
        ),
        pytest.param(
            day(status="holiday", scheduled_start=None, scheduled_end=None, scheduled_minutes=0, clock_in=None,
                clock_out=None, punch_ids=(), presence_minutes=0),
            [], [], [], id="holiday: nothing expected, nothing flagged",
        ),
        pytest.param(
            day(clock_out=None, missing_clock_out=True, punch_ids=("p-in",), presence_minutes=0), WORK, [],
            [K.MISSING_CLOCK_OUT], id="single punch: missing clock-out",
        ),
        pytest.param(
            day(clock_in=None, missing_clock_in=True, punch_ids=("p-out",), presence_minutes=0), WORK, [],
            [K.MISSING_CLOCK_IN], id="single punch: missing clock-in",
        ),
        pytest.param(
            day(status="late", clock_in=at("08:15"), late_minutes=45, late_band="TL2", presence_minutes=470),
            [entry("e1", "08:15", "12:00"), entry("e2", "13:00", "16:00")], [], [K.LATE_ARRIVAL],
            id="late arrival",
        ),
        pytest.param(
            day(status="late", clock_out=at("15:40"), early_leave_minutes=20, early_band="PSW1",
                presence_minutes=495),
            [entry("e1", "07:30", "12:00"), entry("e2", "13:00", "15:30")], [], [K.EARLY_LEAVE], id="early leave",
        ),
        pytest.param(
            day(**NIGHT), [entry("e1", "22:00", "23:59"), entry("e2", "01:00", "05:30", start_next_day=True,
                                                                  end_next_day=True)],
            [], [], id="night shift: activity after midnight is inside the window",
        ),
        pytest.param(
            day(**NIGHT), [entry("e1", "20:00", "21:00")], [], [K.ACTIVITY_OUTSIDE_ATTENDANCE],
            id="night shift: activity before the shift is outside",
        ),
    ],
)
def test_check_day_raises_the_expected_flags(the_day, entries, absences, expected):
    flags = check_day(the_day, entries, absences, POLICY)
    assert sorted(flag.kind for flag in flags) == sorted(expected)


def test_overtime_message_has_the_numbers_in_local_time():
    the_day = day(clock_out=at("17:30"), overtime_minutes=90, presence_minutes=605)
    [flag] = check_day(the_day, WORK + [entry("e3", "16:00", "16:30")], [], POLICY)
    assert flag.message == (
        "Clocked out at 17:30, 90 min after the scheduled end at 16:00 (overtime 90 min), but activities cover "
        "only 30 min (33%) of that time; at least 50% is expected."
    )
    assert flag.evidence.entry_ids == ("e3",)
    assert flag.evidence.punch_ids == ("p-in", "p-out")
    assert flag.evidence.day_version == 1


@pytest.mark.parametrize(
    "section, clock_out, overtime, flagged",
    [
        ({}, "16:59", 59, False),
        ({}, "17:00", 60, True),
        ({"overtime_flag_minutes": 120}, "17:30", 90, False),
        ({}, "17:30", 90, True),
        ({"overtime_coverage_ratio": 0.2}, "17:30", 90, False),
    ],
)
def test_overtime_threshold_and_coverage_come_from_policy(section, clock_out, overtime, flagged):
    the_day = day(clock_out=at(clock_out), overtime_minutes=overtime)
    flags = check_day(the_day, WORK + [entry("e3", "16:00", "16:20")], [], load_policy(section))
    assert (K.OVERTIME_WITHOUT_ACTIVITY in {flag.kind for flag in flags}) is flagged


def test_late_arrival_names_the_band_and_minutes():
    the_day = day(status="late", clock_in=at("08:15"), late_minutes=45, late_band="TL2")
    [flag] = [f for f in check_day(the_day, WORK, [], POLICY) if f.kind == K.LATE_ARRIVAL]
    assert flag.message == "Arrived 45 min late (TL2): clocked in at 08:15, scheduled start 07:30."


def test_overlap_flag_names_both_entries_and_the_shared_minutes():
    [flag] = check_day(day(), [entry("e2", "09:30", "11:00"), entry("e1", "08:00", "10:00")], [], POLICY)
    assert flag.evidence.entry_ids == ("e1", "e2")
    assert flag.key == f"overlapping_activities:{NIP}:2024-03-04:e1+e2"
    assert "overlap by 30 min" in flag.message


def test_same_input_gives_the_same_flags_whatever_the_entry_order():
    entries = [entry("e1", "06:00", "07:00"), entry("e2", "06:30", "10:00"), entry("e3", "16:30", "18:00")]
    first = check_day(day(), entries, [], POLICY)
    again = check_day(day(), list(reversed(entries)), [], POLICY)
    assert first == again
    assert len({flag.key for flag in first}) == len(first)


def test_a_late_punch_resolves_the_flag_it_explains():
    entries = WORK + [entry("e3", "16:30", "17:30")]
    one_punch = day(clock_out=None, missing_clock_out=True, punch_ids=("p-in",), presence_minutes=0)
    before = check_day(one_punch, entries, [], POLICY)
    both = day(version=2, clock_out=at("17:35"), overtime_minutes=95, presence_minutes=610,
               punch_ids=("p-in", "p-late"))
    after = check_day(both, entries, [], POLICY)

    raised, resolved = diff_flags([flag.key for flag in before], after)

    assert [flag.kind for flag in before] == [K.MISSING_CLOCK_OUT]
    assert resolved == [before[0].key]
    assert raised == []


def test_a_late_punch_resolves_an_outside_attendance_flag():
    late_work = entry("e3", "16:30", "17:30")
    before = check_day(day(), WORK + [late_work], [], POLICY)
    later = day(version=2, clock_out=at("17:35"), overtime_minutes=95, presence_minutes=610)
    after = check_day(later, WORK + [late_work], [], POLICY)

    raised, resolved = diff_flags([flag.key for flag in before], after)

    assert [flag.kind for flag in before if flag.key in resolved] == [K.ACTIVITY_OUTSIDE_ATTENDANCE]
    assert raised == []


@pytest.mark.parametrize(
    "previous_keys, current_keys, raised_keys, resolved_keys",
    [
        ([], [], [], []),
        (["a"], ["a"], [], []),
        ([], ["a", "b"], ["a", "b"], []),
        (["a", "b"], ["b"], [], ["a"]),
        (["a"], ["b"], ["b"], ["a"]),
    ],
)
def test_diff_flags_by_key(previous_keys, current_keys, raised_keys, resolved_keys):
    template = check_day(day(), [], [], POLICY)[0]
    raised, resolved = diff_flags(previous_keys, [replace(template, key=k) for k in current_keys])
    assert [f.key for f in raised] == raised_keys
    assert resolved == resolved_keys


def test_night_shift_entries_logged_on_the_calendar_date_go_to_the_shift():
    tuesday = MONDAY.replace(day=5)
    night, next_day = day(**NIGHT), day(on=tuesday)
    after_midnight = entry("e-night", "01:00", "03:00", on=tuesday)
    daytime = entry("e-day", "09:00", "11:00", on=tuesday)

    grouped = assign_entries_to_days([night, next_day], [after_midnight, daytime])

    assert [e.entry_id for e in grouped[MONDAY]] == ["e-night"]
    assert [e.entry_id for e in grouped[tuesday]] == ["e-day"]
    assert check_day(night, grouped[MONDAY], [], POLICY) == []


def test_a_check_in_from_a_phone_awaiting_review_is_a_flag_with_its_punches():
    doubtful = day(punch_ids=("41", "42"), doubtful_punches=(("42", ("outside_fence", "clock_skew")),))
    [flag] = check_day(doubtful, WORK, [], POLICY)
    assert (flag.kind, flag.key) == (K.DOUBTFUL_PRESENCE, f"doubtful_presence:{NIP}:{MONDAY.isoformat()}")
    assert flag.evidence.punch_ids == ("42",) and flag.evidence.day_version == doubtful.version
    assert "clock_skew, outside_fence" in flag.message and "punch 42" in flag.message
    # reviewed: the next version of the day carries no doubt, and the flag is resolved
    raised, resolved = diff_flags([flag.key], check_day(replace(doubtful, doubtful_punches=()), WORK, [], POLICY))
    assert raised == [] and resolved == [flag.key]


def test_a_day_made_of_its_values_is_the_day_made_by_its_fields():
    """`Day.of` writes each field's value by name: every field, in the fields' order, nothing else."""
    values = tuple(f"value of {each.name}" for each in fields(Day))  # each value tells its field
    made = Day.of(values)
    assert made == Day(*values)
    assert list(vars(made).items()) == list(vars(Day(*values)).items())
    with pytest.raises(ValueError):
        Day.of(values[:-1])
