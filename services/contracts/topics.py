"""Topic names. Reference data (`directory.*`) is on compacted topics keyed by entity id."""

DIRECTORY_UNITS = "directory.units"
DIRECTORY_POSITIONS = "directory.positions"
DIRECTORY_EMPLOYEES = "directory.employees"
DIRECTORY_SCHEDULES = "directory.schedules"
DIRECTORY_HOLIDAYS = "directory.holidays"
DIRECTORY_ENROLMENTS = "directory.enrolments"
DIRECTORY_GEOFENCES = "directory.geofences"

ATTENDANCE_PUNCHES = "attendance.punches"
ATTENDANCE_DAYS = "attendance.days"
ATTENDANCE_DEVICES = "attendance.devices"

ACTIVITIES_ENTRIES = "activities.entries"
APPROVALS_DECISIONS = "approvals.decisions"
APPROVALS_VERIFICATIONS = "approvals.verifications"
APPROVALS_MONTHS = "approvals.months"
APPROVALS_VERIFIERS = "approvals.verifiers"
SCORING_FLAGS = "scoring.flags"
SCORING_MONTHS = "scoring.months"
PAYROLL_RUNS = "payroll.runs"
IDENTITY_SESSIONS = "identity.sessions"
# The signed head of each audit stream, keyed by stream: compacted, so the latest head of every stream stays.
AUDIT_HEADS = "audit.heads"

COMPACTED = frozenset({
    DIRECTORY_UNITS, DIRECTORY_POSITIONS, DIRECTORY_EMPLOYEES,
    DIRECTORY_SCHEDULES, DIRECTORY_HOLIDAYS, DIRECTORY_ENROLMENTS, DIRECTORY_GEOFENCES, APPROVALS_VERIFIERS,
    AUDIT_HEADS,
})

ALL = (
    DIRECTORY_UNITS, DIRECTORY_POSITIONS, DIRECTORY_EMPLOYEES, DIRECTORY_SCHEDULES, DIRECTORY_HOLIDAYS,
    DIRECTORY_ENROLMENTS, DIRECTORY_GEOFENCES, ATTENDANCE_PUNCHES, ATTENDANCE_DAYS, ATTENDANCE_DEVICES, ACTIVITIES_ENTRIES,
    APPROVALS_DECISIONS, APPROVALS_VERIFICATIONS, APPROVALS_MONTHS, APPROVALS_VERIFIERS, SCORING_FLAGS, SCORING_MONTHS, PAYROLL_RUNS,
    IDENTITY_SESSIONS, AUDIT_HEADS,
)


def dead_letter(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return f"{topic}.dlq"
