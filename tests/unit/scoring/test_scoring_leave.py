"""Leave reduces what is required: the days of an excused absence kind leave the month's effective minutes.

Amounts are computed by hand in each test from the schedule of the builders: 07:30-16:00 less the break,
450 minutes a working day.
"""
from datetime import date
from decimal import Decimal

import pytest

from runtime.discipline import load_discipline
from runtime.policy import load_section
from scoring_builders import NIP, day, entry

from scoring.domain.month import StandingFlags, score_month
from scoring.domain.policy import load_policy
from scoring.domain.scores import activity_score, discipline_score, effective_minutes, excused_minutes

POLICY = load_policy({})
# November 2026: Monday 2 .. Monday 30, 21 working days (Mon-Fri), no holiday in this test.
WORKING_DAYS = [date(2026, 11, d) for d in range(1, 31) if date(2026, 11, d).weekday() < 5]
LEAVE_DAYS = WORKING_DAYS[5:8]  # Mon 9, Tue 10, Wed 11 November: three days of annual leave (cuti tahunan)


def _month(kind: str = "leave") -> list:
    return [day(on=on, status=kind, clock_in=None, clock_out=None, presence_minutes=0, absence_kind=kind)
            if on in LEAVE_DAYS else day(on=on) for on in WORKING_DAYS]


def _productive_entries() -> list:
    """Every day worked is fully logged: 450 credited minutes on each of the 18 days worked."""
    return [entry(f"e{on.day}", "07:30", "15:00", on=on) for on in WORKING_DAYS if on not in LEAVE_DAYS]


def test_a_fully_productive_month_with_three_days_of_leave_scores_100():
    # 21 working days x 450 = 9,450 min scheduled; 3 days of leave excused: 9,450 - 3 x 450 = 8,100 required.
    # Credited: 18 days x 450 = 8,100. 8,100 / 8,100 x 100 = 100.00 (it was 8,100 / 9,450 = 85.71 before).
    days = _month()
    assert len(WORKING_DAYS) == 21
    assert excused_minutes(days, POLICY.discipline.excused_kinds) == 1350
    assert effective_minutes(days, None, POLICY.discipline.excused_kinds) == 8100
    result = activity_score(_productive_entries(), days, [], set(), POLICY)
    assert result.score == Decimal("100.00")
    assert result.summary == "8100 credited ÷ 8100 effective min × 100 = 100.00 (1350 min of excused absence not required)"
    # Leave deducts nothing from discipline either (national: absence_rates lists no kind).
    assert discipline_score(days, POLICY).score == Decimal("100.00")


@pytest.mark.parametrize("kind, treatment, score", [
    ("leave", "excused", "100.00"),
    ("sick", "excused", "100.00"),
    ("duty", "required", "85.71"),        # duty is worked: 8,100 / 9,450 x 100 = 85.714.. -> 85.71 unless logged
    ("permission", "required", "85.71"),  # izin is not a cuti: the same 8,100 / 9,450
])
def test_national_defaults_per_absence_kind(kind, treatment, score):
    assert POLICY.discipline.excused_kinds == frozenset({"leave", "sick"})
    assert load_discipline({}).required_minutes[kind] == treatment
    assert activity_score(_productive_entries(), _month(kind), [], set(), POLICY).score == Decimal(score)


def test_a_region_may_keep_leave_required_and_deduct_it():
    # [discipline] required_minutes.leave = "required", absence_rates.leave = 1 (%/day): activity 8,100 / 9,450
    # = 85.71; discipline 100 - 3 days x 1 = 97.00.
    policy = load_policy({}, load_discipline({"required_minutes": {"leave": "required"}, "absence_rates": {"leave": 1}}))
    days = _month()
    assert activity_score(_productive_entries(), days, [], set(), policy).score == Decimal("85.71")
    assert discipline_score(days, policy).score == Decimal("97.00")


def test_a_duty_day_with_activities_logged_during_it_earns_its_minutes():
    # Duty stays required and the duty work is logged: 21 x 450 = 9,450 credited of 9,450 required = 100.00.
    entries = _productive_entries() + [entry(f"d{on.day}", "07:30", "15:00", on=on) for on in LEAVE_DAYS]
    assert activity_score(entries, _month("duty"), [], set(), POLICY).score == Decimal("100.00")


def test_a_partial_absence_on_a_worked_day_stays_required():
    # A late day carrying a duty letter for part of it: status "late", not the kind, so its 450 min stay required.
    worked = day(on=WORKING_DAYS[0], status="late", late_band="TL1", absence_kind="leave")
    assert excused_minutes([worked], POLICY.discipline.excused_kinds) == 0
    assert effective_minutes([worked], None, POLICY.discipline.excused_kinds) == 450


def test_the_scored_month_shows_the_excused_minutes():
    result = score_month(NIP, "U1", 2026, 11, _month(), None, _productive_entries(), [],
                         StandingFlags([], set(), set()), None, {}, POLICY)
    assert (result["effective_minutes"], result["credited_minutes"]) == (8100, 8100)
    assert result["breakdown"]["excused_minutes"] == 1350
    assert result["activity_score"] == Decimal("100.00")


def test_an_unknown_kind_or_treatment_is_named_by_key():
    from marshmallow import ValidationError
    with pytest.raises(ValidationError) as caught:
        load_discipline({"required_minutes": {"holiday": "excused", "sick": "sometimes"}})
    assert set(caught.value.messages["required_minutes"]) == {"holiday", "sick"}


def test_every_preset_states_each_kind():
    from pathlib import Path
    import tomllib
    for preset in sorted(Path(__file__).parents[3].joinpath("deploy", "policies").glob("*.toml")):
        stated = tomllib.loads(preset.read_text()).get("discipline", {}).get("required_minutes", {})
        assert set(stated) == {"leave", "sick", "duty", "permission"}, preset.name
        assert load_section(preset, "scoring", load_policy, discipline=True).discipline.excused_kinds
