"""Pure rules of the attendance service: the ADMS device protocol, schedules, and the attendance day.

adms — raw upload bodies in, protocol replies out (no I/O):
    parse_attlog(body: bytes) -> AttlogBatch(records, rejected, duplicates)
        AttlogRecord(pin, local_time, status, verify, workcode, sequence, raw_line); RejectedLine(line_no, raw, reason)
    parse_operlog(body: bytes) -> OperlogBatch(operations, users, fingerprints, rejected)
        OperationLog(operation, admin, local_time, objects); UserInfo(pin, name, privilege, card);
        FingerprintEnrolment(pin, finger_id)
    parse_options(body: bytes) -> dict[str, str];  parse_registry(body: bytes) -> dict[str, str]
    parse_devicecmd(body: bytes) -> list[CommandResult(id, return_code, cmd)]
    render_handshake(serial, stamps: Mapping[str, int], tz_offset_minutes, server_version) -> str
    render_commands(commands: Iterable[tuple[int, str]]) -> str
    user_update_command(pin, name, privilege=0, card="") -> str;  user_delete_command(pin) -> str

schedule — the expected working window of a local date:
    Schedule(schedule_id, name, days, variants); DayPattern(weekday, start, end, break_minutes);
    Variant(name, start_date, end_date, days); PlannedShift(local_date, start, end, break_minutes, net_minutes, variant)
    planned_shift(schedule, local_date, holidays: Collection[date], zone) -> PlannedShift | None
    default_schedule(ramadan_periods=()) -> Schedule;  schedule_from_dict(data) -> Schedule

days — one AttendanceDay per employee and local date (rules in the module docstring):
    Punch(punch_id, at); Absence(kind, start_date, end_date, reference); AbsenceKind; DayStatus; AttendanceDay
    local_time_to_utc(naive_local, zone) -> datetime
    assign_punches(punches, shifts_by_date, zone, policy) -> dict[date, tuple[Punch, ...]]
    build_day(employee_id, local_date, zone, shift, punches, absences, is_holiday, policy, version) -> AttendanceDay

records — set_attributes(record, attributes): the one-step `__init__` of frozen records made per line, punch or day

policy — the regional `[attendance]` TOML section:
    AttendancePolicy, Band(code, from_minutes, to_minutes); load_policy(section: dict) -> AttendancePolicy
"""
