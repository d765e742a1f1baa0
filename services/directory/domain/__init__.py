"""Pure rules of the directory: the organisation's reference data. No I/O, no clock.

nip — the 18-digit NIP (*Nomor Induk Pegawai*, civil servant number)
    validate_nip(nip, reference_date, *, pppk=False) -> NipInfo   raises InvalidNip (.reason)
    NipInfo(birth_date, appointment_year, appointment_month, gender, sequence); Gender

schedules — work schedules (shared shape) and the holiday calendar
    DayPattern(weekday, start, end, break_minutes) .net_minutes .span_minutes .crosses_midnight
    Variant(name, start_date, end_date, days); Schedule(schedule_id, name, days, variants); Holiday(date, name)
    validate_schedule(data) -> Schedule        raises marshmallow.ValidationError (nested field messages)
    schedule_to_dict(schedule) -> dict         the shared shape ("HH:MM", ISO dates)
    validate_holidays(items) -> tuple[Holiday, ...]   raises marshmallow.ValidationError
    weekly_net_minutes(days) -> int
    presets: perpres_21_2023(), six_day_week(), ramadan_variant(start_date, end_date),
             shift(start, end, break_minutes, weekdays)

roster — the SIMPEG-like roster CSV
    parse_roster(text, reference_date) -> RosterResult(rows: list[RosterRow], errors: list[RowError])
    RowError(line, field, reason); RosterRow(...).employee() -> Employee, .enrolment() -> DeviceEnrolment | None
    units_from_rows(rows) -> (list[Unit], list[RowError]); positions_from_rows(rows) -> (list[Position], ...)
    normalise_zone(text) -> IANA name          raises ValueError

org — units, positions, employees, supervision
    Unit, Position, Employee, DeviceEnrolment, EmployeeStatus, PositionKind, OrgError(subject_id, field, reason)
    validate_unit_tree(units) -> list[OrgError]
    validate_supervision(employees: Mapping[nip, Employee]) -> list[OrgError]
    approver_for(employee_id, employees) -> str | None      the Plt if set, else the direct supervisor
    superior_of(employee_id, employees, levels=1) -> str | None   walks up the approval line, cycle-safe
    raises UnknownEmployee for an id not in `employees`

roles — Role (staff, supervisor, verifier, finance, admin, ops), ROLES, parse_roles(names) raises InvalidRole
"""
