"""Monthly scores (activity, discipline), behaviour rating, predicate and the unit's predicate distribution."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Collection, Mapping, Sequence

from .crosschecks import Day, Entry, Flag
from .policy import PERMENPANRB_6_2022, ScoringPolicy
from .vocabulary import (
    ABOVE,
    BAIK,
    BELOW,
    BERAKHLAK_VALUES,
    BUTUH_PERBAIKAN,
    KURANG,
    MEETS,
    SANGAT_BAIK,
    SANGAT_KURANG,
    TK,
)

HUNDRED = Decimal("100")
CENT = Decimal("0.01")
# Days that never deduct: leave (cuti), sick, official duty (dinas luar), permission (izin), holiday, rest day.
NON_DEDUCTING_STATUSES = frozenset({"leave", "sick", "duty", "permission", "holiday", "off"})
NON_WORKING_STATUSES = frozenset({"holiday", "off"})

# PermenPANRB 6/2022: predicate by (behaviour level, work-result level). Its "Kurang/Misconduct" cell is KURANG.
PREDICATE_MATRIX = {
    (BELOW, BELOW): SANGAT_KURANG,
    (BELOW, MEETS): KURANG,
    (BELOW, ABOVE): KURANG,
    (MEETS, BELOW): BUTUH_PERBAIKAN,
    (MEETS, MEETS): BAIK,
    (MEETS, ABOVE): BAIK,
    (ABOVE, BELOW): BUTUH_PERBAIKAN,
    (ABOVE, MEETS): BAIK,
    (ABOVE, ABOVE): SANGAT_BAIK,
}


@dataclass(frozen=True)
class EntryLine:
    """How one activity entry was treated by the activity score."""

    entry_id: str
    local_date: date
    credited_minutes: int
    counted: bool
    reason: str


@dataclass(frozen=True)
class EntryTally:
    """Entries the activity rule cannot tell apart, counted together: the same state, verification and
    `creditable`, and none of them named by a flag. A month close tallies most of a month's entries this way
    (set-based, in SQL) and passes only the flagged ones one by one."""

    state: str
    verified: bool | None
    creditable: bool
    entries: int
    credited_minutes: int


@dataclass(frozen=True)
class TallyLine:
    """How a tally of entries was treated by the activity score."""

    entries: int
    credited_minutes: int
    counted: bool
    reason: str


@dataclass(frozen=True)
class WorkedDays:
    """Plain days counted together: worked or rested with no band, missing punch, absence or overtime. They can
    never deduct; they only add their scheduled minutes (working days) to the month's effective minutes."""

    days: int
    scheduled_minutes: int


@dataclass(frozen=True)
class DeductionLine:
    """One discipline deduction: a TL/PSW band or TK (absent without notice) on a date, in percent."""

    local_date: date
    code: str
    rate: Decimal


@dataclass(frozen=True)
class ScoreWithBreakdown:
    """A score (Decimal, 2 places), a one-line explanation of the arithmetic, and its lines."""

    score: Decimal
    summary: str
    lines: tuple[EntryLine | TallyLine | DeductionLine, ...]


@dataclass(frozen=True)
class BehaviourRating:
    """The BerAKHLAK behaviour result: the average of the seven values and its level (below/meets/above)."""

    level: str
    average: Decimal


@dataclass(frozen=True)
class Predicate:
    """The performance predicate (e.g. "Baik") with how it was reached."""

    name: str
    method: str
    explanation: str


@dataclass(frozen=True)
class DistributionViolation:
    """A unit's staff predicates breaking a limit set by the unit's own rating."""

    unit_rating: str
    predicates: tuple[str, ...]
    message: str


class BehaviourRatingRefused(ValueError):
    """The behaviour values were incomplete, unknown or off the scale; `errors` maps each field to its problem."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in sorted(errors.items())))
        self.errors = dict(errors)


def effective_minutes(days: Sequence[Day], worked: WorkedDays | None = None, excused_kinds: Collection[str] = ()) -> int:
    """The month's effective (required) minutes: scheduled minutes of its working days (holidays and rest days
    give none), less the days of an absence kind the policy excuses, plus those of the plain days in `worked`."""
    tallied = worked.scheduled_minutes if worked else 0
    return tallied + sum(day.scheduled_minutes for day in days if day.status not in NON_WORKING_STATUSES) \
        - excused_minutes(days, excused_kinds)


def excused_minutes(days: Sequence[Day], excused_kinds: Collection[str]) -> int:
    """Scheduled minutes of the days taken whole by an excused absence kind (the day's status is the kind):
    the employee is not expected to work them. A day with punches and a partial absence stays required."""
    return sum(day.scheduled_minutes for day in days if day.status in excused_kinds)


def activity_score(
    entries: Sequence[Entry],
    days: Sequence[Day],
    open_flags: Sequence[Flag],
    cleared_flag_entry_ids: Collection[str],
    policy: ScoringPolicy,
    tallies: Sequence[EntryTally] = (),
    worked: WorkedDays | None = None,
) -> ScoreWithBreakdown:
    """Credited minutes of creditable (approved, verified if sampled), unflagged entries ÷ effective minutes × 100,
    capped. `entries` are judged one by one; `tallies` (entries no flag names) a group at a time, by the same rule."""
    holding = _excluding_kinds_by_entry(open_flags, policy)
    lines = tuple(
        _entry_line(entry, holding.get(entry.entry_id, ()), cleared_flag_entry_ids, policy)
        for entry in sorted(entries, key=lambda e: (e.local_date, e.start_at, e.entry_id))
    ) + tuple(sorted((_tally_line(tally) for tally in tallies), key=lambda line: (not line.counted, line.reason)))
    credited = sum(line.credited_minutes for line in lines if line.counted)
    excused_kinds = policy.discipline.excused_kinds
    effective = effective_minutes(days, worked, excused_kinds)
    excused = excused_minutes(days, excused_kinds)
    if effective == 0:
        return ScoreWithBreakdown(Decimal("0.00"), f"{credited} credited min but no effective minutes: score 0", lines)
    raw = _round(Decimal(credited) * HUNDRED / Decimal(effective))
    score = min(raw, _round(policy.activity_score_cap))
    summary = f"{credited} credited ÷ {effective} effective min × 100 = {raw}"
    if excused:
        summary += f" ({excused} min of excused absence not required)"
    if score < raw:
        summary += f", capped at {score}"
    return ScoreWithBreakdown(score, summary, lines)


def discipline_score(days: Sequence[Day], policy: ScoringPolicy) -> ScoreWithBreakdown:
    """100 minus the month's TL/PSW band, TK and deducting absence-kind deductions, capped by policy."""
    rules = policy.discipline
    lines = []
    for day in sorted(days, key=lambda d: d.local_date):
        for code in _deduction_codes(day, policy):
            rate = rules.absent_rate if code == TK else rules.band_rates.get(code) or rules.absence_rates[code]
            lines.append(DeductionLine(day.local_date, code, rate))
    total = sum((line.rate for line in lines), Decimal(0))
    deducted = min(total, rules.monthly_cap)
    score = _round(HUNDRED - deducted)
    summary = f"100 − {_round(deducted)} deducted = {score}"
    if deducted < total:
        summary += f" (deductions of {_round(total)} capped at {_round(rules.monthly_cap)})"
    return ScoreWithBreakdown(score, summary, tuple(lines))


def behaviour_rating(values: Mapping[str, int], policy: ScoringPolicy) -> BehaviourRating:
    """Rate behaviour from the seven BerAKHLAK values on the policy's scale; refuses missing or unknown values."""
    scale = policy.behaviour
    errors = {name: "missing" for name in BERAKHLAK_VALUES if values.get(name) is None}
    errors.update({name: "not a BerAKHLAK value" for name in values if name not in BERAKHLAK_VALUES})
    for name in BERAKHLAK_VALUES:
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not scale.scale_min <= value <= scale.scale_max:
            errors[name] = f"must be a whole number from {scale.scale_min} to {scale.scale_max}"
    if errors:
        raise BehaviourRatingRefused(errors)
    average = _round(Decimal(sum(values[name] for name in BERAKHLAK_VALUES)) / len(BERAKHLAK_VALUES))
    return BehaviourRating(_level(average, scale.meets_from, scale.above_from), average)


def work_result_level(work_score: Decimal, policy: ScoringPolicy) -> str:
    """The work-result level (below/meets/above expectation) of an activity score by the policy's thresholds."""
    rules = policy.predicate
    return _level(work_score, rules.result_meets_from, rules.result_above_from)


def predicate(
    work_score: Decimal, behaviour: BehaviourRating, policy: ScoringPolicy, has_innovation: bool = False
) -> Predicate:
    """The predicate by the policy's method: the PermenPANRB 6/2022 matrix or the PP 30/2019 weighted score."""
    if policy.predicate.method == PERMENPANRB_6_2022:
        return _matrix_predicate(work_score, behaviour, policy)
    return _pp30_predicate(work_score, behaviour, policy, has_innovation)


def distribution_violations(
    unit_rating: str, predicates: Sequence[str], policy: ScoringPolicy
) -> list[DistributionViolation]:
    """The limits the unit's own rating puts on its staff's predicates that this distribution breaks."""
    total = len(predicates)
    if total == 0:
        return []
    violations = []
    for rule in policy.distribution:
        if rule.unit_rating != unit_rating:
            continue
        count = sum(1 for name in predicates if name in rule.predicates)
        group = " or ".join(rule.predicates)
        observed = f"{count} of {total} staff ({_round(Decimal(count) * HUNDRED / total)}%) are {group}"
        problems = []
        if rule.min_count is not None and count < rule.min_count:
            problems.append(f"at least {rule.min_count} required")
        if rule.min_share is not None and count < rule.min_share * total:
            problems.append(f"at least {_percent(rule.min_share)}% required")
        if rule.max_share is not None and count > rule.max_share * total:
            problems.append(f"at most {_percent(rule.max_share)}% allowed")
        if problems:
            message = f"Unit rated {unit_rating}: {observed}; {', '.join(problems)}."
            violations.append(DistributionViolation(unit_rating, rule.predicates, message))
    return violations


def _excluding_kinds_by_entry(flags: Sequence[Flag], policy: ScoringPolicy) -> dict[str, tuple[str, ...]]:
    kinds: dict[str, set[str]] = {}
    for flag in flags:
        if flag.kind in policy.excluding_flag_kinds:
            for entry_id in flag.evidence.entry_ids:
                kinds.setdefault(entry_id, set()).add(flag.kind.value)
    return {entry_id: tuple(sorted(found)) for entry_id, found in kinds.items()}


def _entry_line(
    entry: Entry, flag_kinds: tuple[str, ...], cleared: Collection[str], policy: ScoringPolicy
) -> EntryLine:
    counted, reason = _treatment(entry.state, entry.verified, entry.creditable, flag_kinds,
                                 bool(flag_kinds) and entry.entry_id in cleared)
    return EntryLine(entry.entry_id, entry.local_date, entry.credited_minutes, counted, reason)


def _tally_line(tally: EntryTally) -> TallyLine:
    counted, reason = _treatment(tally.state, tally.verified, tally.creditable, (), False)
    return TallyLine(tally.entries, tally.credited_minutes, counted, reason)


def _treatment(state: str, verified: bool | None, creditable: bool, flag_kinds: tuple[str, ...],
               cleared: bool) -> tuple[bool, str]:
    """Whether an entry counts for credit, and why: the one rule for single entries and tallies alike."""
    if state != "approved":
        return False, f"not approved ({state})"
    if verified is False:
        return False, "approval overturned by verification"
    if not creditable:
        # Approvals' `creditable` is the one rule for sampled verification ([approvals.verification]).
        return False, "awaiting verification" if verified is None else "not creditable"
    if flag_kinds and cleared:
        return True, f"counted: {', '.join(flag_kinds)} cleared by decision"
    if flag_kinds:
        return False, f"held back by unresolved {', '.join(flag_kinds)}"
    return True, "counted"


def _deduction_codes(day: Day, policy: ScoringPolicy) -> list[str]:
    # A justified absence (leave, sick, duty, permission) deducts only its kind's rate, as payroll deducts it.
    kind = day.absence_kind or (day.status if day.status in policy.discipline.absence_rates else None)
    if kind:
        return [kind] if policy.discipline.absence_rates.get(kind) else []
    if day.status in NON_DEDUCTING_STATUSES:
        return []
    if day.status == "absent":
        return [TK]
    rules = policy.discipline
    # A missing punch counts as the worst band unless attendance already banded the day.
    late = day.late_band or (rules.missing_clock_in_band if day.missing_clock_in else None)
    early = day.early_band or (rules.missing_clock_out_band if day.missing_clock_out else None)
    return [code for code in (late, early) if code]


def _matrix_predicate(work_score: Decimal, behaviour: BehaviourRating, policy: ScoringPolicy) -> Predicate:
    result = work_result_level(work_score, policy)
    name = PREDICATE_MATRIX[(behaviour.level, result)]
    rules = policy.predicate
    shown = "Kurang/Misconduct" if name == KURANG else name
    explanation = (
        f"Behaviour {behaviour.level} expectation (average {behaviour.average}) × work results {result} "
        f"expectation (activity score {_round(work_score)}; meets from {rules.result_meets_from}, above from "
        f"{rules.result_above_from}) → {shown} (PermenPANRB 6/2022 matrix)."
    )
    return Predicate(name, PERMENPANRB_6_2022, explanation)


def _pp30_predicate(
    work_score: Decimal, behaviour: BehaviourRating, policy: ScoringPolicy, has_innovation: bool
) -> Predicate:
    rules = policy.predicate
    weight = rules.pp30_work_weight
    score = _round(work_score * weight + behaviour.average * (1 - weight))
    reached = [band for band in rules.pp30_bands if score >= band.min_score]
    chosen = next(
        (band for band in reached if has_innovation or not band.requires_innovation), rules.pp30_bands[-1]
    )
    missed = "".join(
        f"; {band.predicate} from {band.min_score} needs an innovation"
        for band in reached
        if band.requires_innovation and not has_innovation
    )
    explanation = (
        f"{weight} × {_round(work_score)} + {1 - weight} × {behaviour.average} = {score} → "
        f"{chosen.predicate} (from {chosen.min_score}){missed} (PP 30/2019)."
    )
    return Predicate(chosen.predicate, rules.method, explanation)


def _level(value: Decimal, meets_from: Decimal, above_from: Decimal) -> str:
    if value >= above_from:
        return ABOVE
    return MEETS if value >= meets_from else BELOW


def _round(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _percent(share: Decimal) -> Decimal:
    value = share * HUNDRED
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
