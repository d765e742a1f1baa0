"""Pure rules of the scoring service: cross-check flags, monthly scores, predicates, staffing posture, public data.

No I/O, no clock, no state: every function takes plain frozen dataclasses and the regional policy.

policy.py
    load_policy(section: dict) -> ScoringPolicy          the `[scoring]` TOML table; raises marshmallow.ValidationError
    ScoringPolicy, DisciplinePolicy, BehaviourPolicy, PredicatePolicy, Pp30Band, DistributionRule, PostureBand
    PERMENPANRB_6_2022, PP_30_2019                       predicate method names

crosschecks.py
    Day, Entry, Absence                   inputs; Day and Entry mirror attendance.days / activities.entries
    Flag(kind, employee_id, local_date, key, message, evidence: Evidence(day_version, punch_ids, entry_ids))
    check_day(day | None, entries, absences_known_in_day, policy) -> list[Flag]     one employee, one local date
    diff_flags(previous_keys, current) -> (raised, resolved_keys)  by Flag.key: publish only changes
    assign_entries_to_days(days, entries) -> {local_date: [Entry]}   night-shift entries go to the shift's date

scores.py
    effective_minutes(days, worked=None, excused_kinds=()) -> int    less the days of excused absence kinds
    excused_minutes(days, excused_kinds) -> int
    activity_score(entries, days, open_flags, cleared_flag_entry_ids, policy) -> ScoreWithBreakdown[EntryLine]
    discipline_score(days, policy) -> ScoreWithBreakdown[DeductionLine]
    behaviour_rating(values: {berakhlak_value: int}, policy) -> BehaviourRating(level, average)
        raises BehaviourRatingRefused(errors: {field: problem})
    work_result_level(work_score, policy) -> "below" | "meets" | "above"
    predicate(work_score, behaviour, policy, has_innovation=False) -> Predicate(name, method, explanation)
    distribution_violations(unit_rating, predicates, policy) -> list[DistributionViolation]

posture.py
    WorkloadItem(unit_id, position_id, norm_minutes, volume)
    staffing_posture(workloads, staff_present: {(unit_id, position_id): int}, period_months, policy)
        -> tuple[PostureLine]   per position, plus one line per unit with position_id None
    effective_minutes_for_period(period_months, policy) -> Decimal

public.py
    StaffResult(unit_id, predicate, activity_score, discipline_score)    no name, no NIP
    public_aggregates(results, policy) -> tuple[PublicUnitAggregate]     small groups suppressed

vocabulary.py
    FlagKind (StrEnum), predicate names (SANGAT_BAIK, BAIK, BUTUH_PERBAIKAN, CUKUP, KURANG, SANGAT_KURANG),
    BERAKHLAK_VALUES, levels BELOW / MEETS / ABOVE
"""
