from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from runtime.discipline import load_discipline
from scoring_builders import MONDAY, day, entry

from scoring.domain.crosschecks import check_day
from scoring.domain.policy import load_policy
from scoring.domain.scores import (
    BehaviourRating,
    BehaviourRatingRefused,
    activity_score,
    behaviour_rating,
    discipline_score,
    distribution_violations,
    effective_minutes,
    predicate,
)
from scoring.domain.vocabulary import BERAKHLAK_VALUES

POLICY = load_policy({})
PP30 = load_policy(
    {"predicate": {"method": "pp_30_2019"}, "behaviour": {"scale_min": 0, "scale_max": 120, "meets_from": 90,
                                                          "above_from": 110}}
)
HOLIDAY = dict(status="holiday", scheduled_start=None, scheduled_end=None, scheduled_minutes=0)
# Mon 4 – Fri 8 March 2024, with Monday a holiday: 4 working days of 450 minutes.
WEEK = [day(on=date(2024, 3, 4), **HOLIDAY)] + [day(on=date(2024, 3, d)) for d in (5, 6, 7, 8)]


def test_effective_minutes_skip_holidays_and_rest_days():
    rest = day(on=date(2024, 3, 9), status="off", scheduled_minutes=0)
    assert effective_minutes(WEEK + [rest]) == 4 * 450


def entry_of(minutes: int, **changes):
    """An entry on Tuesday crediting `minutes`."""
    return entry("e1", "08:00", "10:00", on=date(2024, 3, 5), credited_minutes=minutes, **changes)


@pytest.mark.parametrize(
    "changes, counted, reason",
    [
        ({}, True, "counted"),  # approved, not sampled: approvals says creditable
        ({"state": "submitted", "creditable": False}, False, "not approved (submitted)"),
        ({"state": "struck", "creditable": False}, False, "not approved (struck)"),
        ({"verified": False, "creditable": False}, False, "approval overturned by verification"),
        ({"verified": None, "creditable": False}, False, "awaiting verification"),  # sampled, not yet verified
        ({"verified": True, "creditable": True}, True, "counted"),  # sampled and upheld
    ],
)
def test_which_entries_count_toward_the_activity_score(changes, counted, reason):
    result = activity_score([entry_of(900, **changes)], WEEK, [], set(), POLICY)
    [line] = result.lines
    assert (line.counted, line.reason) == (counted, reason)
    assert result.score == (Decimal("50.00") if counted else Decimal("0.00"))


def test_entries_held_back_by_an_unresolved_flag_until_cleared():
    tuesday = day(on=date(2024, 3, 5))
    entries = [entry("e1", "08:00", "10:00", on=tuesday.local_date), entry("e2", "09:00", "11:00",
                                                                           on=tuesday.local_date)]
    flags = check_day(tuesday, entries, [], POLICY)

    held = activity_score(entries, WEEK, flags, set(), POLICY)
    cleared = activity_score(entries, WEEK, flags, {"e2"}, POLICY)

    assert [line.reason for line in held.lines] == ["held back by unresolved overlapping_activities"] * 2
    assert held.score == Decimal("0.00")
    assert [line.counted for line in cleared.lines] == [False, True]
    assert cleared.score == Decimal("6.67")  # 120 of 1,800 minutes


def test_flag_kinds_outside_the_policy_do_not_hold_minutes_back():
    tuesday = day(on=date(2024, 3, 5), presence_minutes=60)
    entries = [entry("e1", "08:00", "10:00", on=tuesday.local_date)]
    flags = check_day(tuesday, entries, [], POLICY)
    assert [flag.kind.value for flag in flags] == ["activity_exceeds_presence"]
    assert activity_score(entries, WEEK, flags, set(), POLICY).lines[0].counted
    strict = load_policy({"excluding_flag_kinds": ["activity_exceeds_presence"]})
    assert not activity_score(entries, WEEK, flags, set(), strict).lines[0].counted


@pytest.mark.parametrize(
    "credited, effective_days, cap, score",
    [
        (1800, WEEK, 100, "100.00"),
        (2700, WEEK, 100, "100.00"),  # capped
        (2700, WEEK, 120, "120.00"),
        (1, [day(scheduled_minutes=32)], 100, "3.13"),  # 3.125 rounds half up
        (600, [day(on=MONDAY, **HOLIDAY)], 100, "0.00"),  # no effective minutes in the period
    ],
)
def test_activity_score_arithmetic(credited, effective_days, cap, score):
    result = activity_score([entry_of(credited)], effective_days, [], set(), load_policy({"activity_score_cap": cap}))
    assert result.score == Decimal(score)


def test_activity_score_summary_explains_the_cap():
    result = activity_score([entry_of(2700)], WEEK, [], set(), POLICY)
    assert result.summary == "2700 credited ÷ 1800 effective min × 100 = 150.00, capped at 100.00"


@pytest.mark.parametrize(
    "days, section, score, codes",
    [
        ([day()], {}, "100.00", []),
        ([day(status="late", late_band="TL2", late_minutes=45)], {}, "99.00", ["TL2"]),
        ([day(status="late", late_band="TL1", early_band="PSW1")], {}, "99.00", ["TL1", "PSW1"]),
        ([day(status="late", late_band="TL4", early_band="PSW3")], {}, "96.50", ["TL4", "PSW3"]),
        ([day(status="absent", clock_in=None, clock_out=None)], {}, "97.00", ["TK"]),
        ([day(status="absent", clock_in=None, clock_out=None)], {"absent_per_day": 4}, "96.00", ["TK"]),
        ([day(clock_in=None, missing_clock_in=True)], {}, "98.00", ["TL4"]),
        ([day(clock_out=None, missing_clock_out=True, early_band="PSW4")], {}, "98.00", ["PSW4"]),
        ([day(status="leave", late_band="TL2")], {}, "100.00", []),
        ([day(status="sick")], {}, "100.00", []),
        ([day(status="duty")], {}, "100.00", []),
        ([day(status="permission")], {}, "100.00", []),
        ([day(status="permission")], {"absence_rates": {"permission": 1}}, "99.00", ["permission"]),
        ([day(status="late", late_band="TL3", absence_kind="duty")], {"absence_rates": {"permission": 1}},
         "100.00", []),
        ([day(**HOLIDAY)], {}, "100.00", []),
        ([day(status="off", scheduled_minutes=0)], {}, "100.00", []),
        ([day(on=date(2024, 3, d), status="absent") for d in range(1, 31)], {}, "10.00", ["TK"] * 30),
        ([day(on=date(2024, 3, d), status="absent") for d in range(1, 31)], {"monthly_cap": 40},
         "60.00", ["TK"] * 30),
    ],
)
def test_discipline_score(days, section, score, codes):
    # `section`: the shared [discipline] rates (payroll deducts by the same ones)
    result = discipline_score(days, load_policy({}, load_discipline(section)))
    assert result.score == Decimal(score)
    assert [line.code for line in result.lines] == codes


def test_discipline_breakdown_lines_carry_date_code_and_rate():
    result = discipline_score([day(status="late", late_band="TL3")], POLICY)
    assert [(line.local_date, line.code, line.rate) for line in result.lines] == [(MONDAY, "TL3", Decimal("1.5"))]
    assert result.summary == "100 − 1.50 deducted = 98.50"


def values(*ratings):
    return dict(zip(BERAKHLAK_VALUES, ratings))


@pytest.mark.parametrize(
    "ratings, level, average",
    [
        ((3,) * 7, "meets", "3.00"),
        ((5,) * 7, "above", "5.00"),
        ((4, 4, 4, 4, 4, 4, 4), "above", "4.00"),
        ((4, 4, 4, 4, 4, 4, 3), "meets", "3.86"),
        ((3, 3, 3, 3, 3, 3, 2), "below", "2.86"),
        ((1,) * 7, "below", "1.00"),
    ],
)
def test_behaviour_rating_levels(ratings, level, average):
    assert behaviour_rating(values(*ratings), POLICY) == BehaviourRating(level, Decimal(average))


@pytest.mark.parametrize(
    "given, errors",
    [
        (values(3, 3, 3, 3, 3, 3), {"kolaboratif": "missing"}),
        ({**values(*(3,) * 7), "loyal": None}, {"loyal": "missing"}),  # a JSON null is no rating
        ({**values(*(3,) * 7), "jujur": 3}, {"jujur": "not a BerAKHLAK value"}),
        (values(3, 3, 3, 3, 3, 3, 6), {"kolaboratif": "must be a whole number from 1 to 5"}),
        (values(0, 3, 3, 3, 3, 3, 3), {"berorientasi_pelayanan": "must be a whole number from 1 to 5"}),
        (values(3, 3.5, 3, 3, 3, 3, 3), {"akuntabel": "must be a whole number from 1 to 5"}),
    ],
)
def test_behaviour_rating_refuses_bad_values_by_field(given, errors):
    with pytest.raises(BehaviourRatingRefused) as refused:
        behaviour_rating(given, POLICY)
    assert refused.value.errors == errors


@pytest.mark.parametrize(
    "behaviour_level, work_score, expected",
    [
        ("below", "79.99", "Sangat Kurang"),
        ("below", "80", "Kurang"),
        ("below", "100", "Kurang"),
        ("meets", "79.99", "Butuh Perbaikan"),
        ("meets", "80", "Baik"),
        ("meets", "100", "Baik"),
        ("above", "50", "Butuh Perbaikan"),
        ("above", "99.99", "Baik"),
        ("above", "100", "Sangat Baik"),
    ],
)
def test_permenpanrb_matrix_every_cell(behaviour_level, work_score, expected):
    result = predicate(Decimal(work_score), BehaviourRating(behaviour_level, Decimal("3")), POLICY)
    assert result.name == expected
    assert result.method == "permenpanrb_6_2022"


def test_matrix_explanation_names_both_levels():
    result = predicate(Decimal("85"), BehaviourRating("below", Decimal("2.50")), POLICY)
    assert "Behaviour below expectation" in result.explanation
    assert "work results meets expectation (activity score 85.00" in result.explanation
    assert "Kurang/Misconduct" in result.explanation


@pytest.mark.parametrize(
    "score, innovation, expected",
    [
        ("120", True, "Sangat Baik"),
        ("110", True, "Sangat Baik"),
        ("110", False, "Baik"),
        ("109.99", True, "Baik"),
        ("90", False, "Baik"),
        ("89.99", False, "Cukup"),
        ("70", False, "Cukup"),
        ("69.99", False, "Kurang"),
        ("50", False, "Kurang"),
        ("49.99", False, "Sangat Kurang"),
        ("0", False, "Sangat Kurang"),
    ],
)
def test_pp30_bands_at_their_boundaries(score, innovation, expected):
    behaviour = BehaviourRating("meets", Decimal(score))
    assert predicate(Decimal(score), behaviour, PP30, has_innovation=innovation).name == expected


def test_pp30_weights_work_and_behaviour():
    result = predicate(Decimal("100"), BehaviourRating("meets", Decimal("80")), PP30)
    assert result.name == "Baik"
    assert result.explanation.startswith("0.7 × 100.00 + 0.3 × 80 = 94.00 → Baik")
    peers = replace(PP30, predicate=replace(PP30.predicate, pp30_work_weight=Decimal("0.6")))
    assert predicate(Decimal("100"), BehaviourRating("meets", Decimal("70")), peers).name == "Cukup"  # 88.00


def test_pp30_explains_a_missing_innovation():
    result = predicate(Decimal("115"), BehaviourRating("above", Decimal("115")), PP30)
    assert result.name == "Baik"
    assert "Sangat Baik from 110 needs an innovation" in result.explanation


def staff(**counts):
    names = {"sb": "Sangat Baik", "b": "Baik", "bp": "Butuh Perbaikan", "k": "Kurang", "sk": "Sangat Kurang"}
    return [names[short] for short, n in counts.items() for _ in range(n)]


@pytest.mark.parametrize(
    "unit_rating, predicates, messages",
    [
        ("Baik", staff(b=7, bp=3), []),
        ("Baik", staff(sb=1, b=7, sk=2), []),
        ("Baik", staff(b=8, bp=2),
         ["Unit rated Baik: 8 of 10 staff (80.00%) are Baik; at most 70% allowed."]),
        ("Baik", staff(sb=3, b=7),
         ["Unit rated Baik: 0 of 10 staff (0.00%) are Butuh Perbaikan or Kurang or Sangat Kurang; "
          "at least 1 required."]),
        ("Butuh Perbaikan", staff(bp=6, b=4), []),
        ("Butuh Perbaikan", staff(bp=5, b=5),
         ["Unit rated Butuh Perbaikan: 5 of 10 staff (50.00%) are Butuh Perbaikan; at least 60% required."]),
        ("Butuh Perbaikan", staff(bp=6, sb=2, b=2),
         ["Unit rated Butuh Perbaikan: 2 of 10 staff (20.00%) are Sangat Baik; at most 10% allowed."]),
        ("Butuh Perbaikan", staff(bp=6, sb=1, b=3), []),
        ("Sangat Baik", staff(sb=10), []),
        ("Baik", [], []),
    ],
)
def test_distribution_violations(unit_rating, predicates, messages):
    assert [v.message for v in distribution_violations(unit_rating, predicates, POLICY)] == messages


def test_distribution_limits_are_policy_data():
    policy = load_policy({"distribution": [{"unit_rating": "Baik", "predicates": ["Sangat Baik"], "max_share": 0.2}]})
    assert distribution_violations("Baik", staff(sb=3, b=7), policy)[0].predicates == ("Sangat Baik",)
    assert distribution_violations("Baik", staff(b=10), policy) == []


def test_tallied_entries_score_as_the_same_entries_judged_one_by_one():
    """The month close passes unflagged entries as tallies; the rule must treat a tally as its entries."""
    from collections import Counter

    from scoring.domain.scores import EntryTally, WorkedDays
    kinds = [{}, {}, {"state": "submitted", "creditable": False}, {"verified": False, "creditable": False},
             {"verified": None, "creditable": False}, {"verified": True, "creditable": True}]
    entries = [entry(f"e{i}", "08:00", "09:00", on=date(2024, 3, 5), credited_minutes=60 + i, **kind)
               for i, kind in enumerate(kinds)]
    groups = Counter()
    minutes = Counter()
    for e in entries:
        key = (e.state, e.verified, e.creditable)
        groups[key] += 1
        minutes[key] += e.credited_minutes
    tallies = [EntryTally(*key, groups[key], minutes[key]) for key in groups]
    one_by_one = activity_score(entries, WEEK, [], set(), POLICY)
    tallied = activity_score([], WEEK, [], set(), POLICY, tallies)
    assert tallied.score == one_by_one.score and tallied.summary == one_by_one.summary
    assert sorted((l.counted, l.reason, l.entries, l.credited_minutes) for l in tallied.lines) == sorted(
        (reason_counted, reason, groups[key], minutes[key]) for key, (reason_counted, reason) in {
            (e.state, e.verified, e.creditable): (line.counted, line.reason)
            for e, line in zip(sorted(entries, key=lambda e: (e.start_at, e.entry_id)), one_by_one.lines)}.items())
    # Plain days tallied add their scheduled minutes to the effective minutes, as the days themselves would.
    plain = WEEK[1:3]
    assert effective_minutes(WEEK[:1] + WEEK[3:], WorkedDays(2, 900)) == effective_minutes(WEEK) == 1800
    assert activity_score(entries, WEEK[:1] + WEEK[3:], [], set(), POLICY, (), WorkedDays(len(plain), 900)).score \
        == one_by_one.score
