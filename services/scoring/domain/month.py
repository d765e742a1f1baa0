"""One employee's scored month: activity, discipline, behaviour, predicate, overtime and the breakdown of each.

Pure: the handler reads the month's days, entries, flags and rating and hands them here; what comes back is
the stored score with its breakdown (and what payroll receives in `scoring.month.scored`).
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Collection, Mapping, Sequence

from .crosschecks import Day, Entry, Flag
from .policy import ScoringPolicy
from .scores import (BehaviourRating, EntryLine, EntryTally, TallyLine, WorkedDays, activity_score,
                     discipline_score, effective_minutes, excused_minutes, predicate)
from .vocabulary import EARLY_BANDS, LATE_BANDS, TK, FlagKind

NOT_RATED = "Belum Dinilai"  # no BerAKHLAK rating for the period yet: no predicate can be given
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RatingOnFile:
    """The supervisor's BerAKHLAK rating of the month, as stored."""

    level: str
    average: Decimal
    has_innovation: bool
    ratings: Mapping[str, int]
    rated_by: str


@dataclass(frozen=True)
class StandingFlags:
    """The month's open and cleared flags as the rules read them."""

    standing: list[Flag]
    cleared_entry_ids: set[str]  # entries whose flags were all cleared by a supervisor's decision
    unexplained_overtime: set[date]  # days with an open overtime-without-activity flag


def score_month(employee_id: str, unit_id: str, year: int, month: int, days: list[Day], worked: WorkedDays | None,
                entries: list[Entry], tallies: list[EntryTally], flags: StandingFlags, rating: RatingOnFile | None,
                holidays: Mapping[date, str], policy: ScoringPolicy) -> dict:
    """One employee's month. `days` are the days that are not plain (worked or rest days with nothing else on
    them), `worked` the plain ones tallied; `entries` the flagged entries one by one, `tallies` the others."""
    days = [replace(day, status="holiday", scheduled_minutes=0)
            if day.local_date in holidays and day.status == "absent" else day for day in days]
    activity = activity_score(entries, days, flags.standing, flags.cleared_entry_ids, policy, tallies, worked)
    discipline = discipline_score(days, policy)
    credited = sum(line.credited_minutes for line in activity.lines if line.counted)
    effective = effective_minutes(days, worked, policy.discipline.excused_kinds)
    behaviour = None
    if rating is not None:
        behaviour = BehaviourRating(rating.level, Decimal(rating.average).quantize(CENT))
        chosen = predicate(activity.score, behaviour, policy, has_innovation=rating.has_innovation)
        predicate_name, predicate_detail = chosen.name, {"name": chosen.name, "method": chosen.method,
                                                          "explanation": chosen.explanation}
    else:
        predicate_name = NOT_RATED
        predicate_detail = {"name": NOT_RATED, "method": policy.predicate.method,
                            "explanation": "No BerAKHLAK behaviour rating for the period yet: the supervisor rates it "
                                           "with PUT /behaviour/<employee_id>/<yyyy-mm>."}
    behaviour_score = behaviour_percent(behaviour, policy) if behaviour else None
    unexplained = flags.unexplained_overtime
    overtime_minutes = sum(day.overtime_minutes for day in days if day.local_date not in unexplained)
    overtime_hours = (Decimal(overtime_minutes) / 60).quantize(CENT, rounding=ROUND_HALF_UP)
    day_facts = _day_facts(days, discipline.lines)
    breakdown = {
        "activity": {"score": str(activity.score), "summary": activity.summary,
                     "lines": [activity_line_json(line) for line in activity.lines]},
        "discipline": {"score": str(discipline.score), "summary": discipline.summary, "lines": [
            {"local_date": l.local_date.isoformat(), "code": l.code, "rate": str(l.rate)} for l in discipline.lines]},
        "behaviour": None if rating is None else {
            "level": rating.level, "average": str(behaviour.average), "score": str(behaviour_score),
            "values": rating.ratings, "rated_by": rating.rated_by, "has_innovation": rating.has_innovation},
        "predicate": predicate_detail,
        "overtime": {"hours": str(overtime_hours), "summary": (
            f"{overtime_minutes} min of overtime on days without an open "
            f"{FlagKind.OVERTIME_WITHOUT_ACTIVITY.value} flag"
            + (f" ({len(unexplained)} day(s) left out)" if unexplained else ""))},
        "effective_minutes": effective,
        "credited_minutes": credited,
        "excused_minutes": excused_minutes(days, policy.discipline.excused_kinds),
        "holidays_applied": sorted(on.isoformat() for on in holidays
                                   if any(d.local_date == on and d.status == "holiday" for d in days)),
    }
    return {"employee_id": employee_id, "unit_id": unit_id, "year": year, "month": month,
            "activity_score": activity.score, "discipline_score": discipline.score,
            "behaviour_level": rating.level if rating else None, "behaviour_score": behaviour_score,
            "overtime_hours": overtime_hours, "predicate": predicate_name, "rated": rating is not None,
            "effective_minutes": effective, "credited_minutes": credited, "days": day_facts, "breakdown": breakdown}


def activity_line_json(line: EntryLine | TallyLine) -> dict:
    """One line of the activity score as the breakdown shows it."""
    if isinstance(line, TallyLine):
        return {"entries": line.entries, "credited_minutes": line.credited_minutes, "counted": line.counted,
                "reason": line.reason}
    return {"entry_id": line.entry_id, "local_date": line.local_date.isoformat(),
            "credited_minutes": line.credited_minutes, "counted": line.counted, "reason": line.reason}


def behaviour_percent(behaviour: BehaviourRating, policy: ScoringPolicy) -> Decimal:
    """Behaviour as a 0-100 score for payroll: the average over the scale's maximum, unless already on 0-120."""
    scale_max = policy.behaviour.scale_max
    if scale_max >= 100:
        return behaviour.average
    return (behaviour.average * 100 / scale_max).quantize(CENT, rounding=ROUND_HALF_UP)


def _day_facts(days: Sequence[Day], deductions) -> list[dict]:
    """The days as payroll needs them, with the bands the discipline score actually applied."""
    codes: dict[date, set[str]] = defaultdict(set)
    for line in deductions:
        codes[line.local_date].add(line.code)
    facts = []
    for day in sorted(days, key=lambda d: d.local_date):
        applied: Collection[str] = codes.get(day.local_date, set())
        facts.append({
            "local_date": day.local_date.isoformat(),
            "status": "absent" if TK in applied else day.status,
            "late_band": next((c for c in applied if c in LATE_BANDS), None),
            "early_band": next((c for c in applied if c in EARLY_BANDS), None),
            "absence_kind": day.absence_kind,
        })
    return facts
