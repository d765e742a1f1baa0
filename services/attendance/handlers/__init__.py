"""The attendance service's use cases, by use case: the only code that touches its tables and publishes its events.

- `devices`: the ADMS conversation (handshake, uploads stored before the answer, command polls and
  results, push 3.x registry) and device administration;
- `ingest`: the job turning stored uploads into punches (`process_pending`);
- `punches`: storing punches (from uploads, the JSON API and check-ins) and building their days with them;
- `days`: absences and attendance days, built from punches;
- `projections`: what other services' events keep here (employees, schedules, holidays, enrolments).

Each takes a session in the caller's transaction and the service's `AttendanceConfig` where it needs
it; the dialect-specific statements are in `attendance.store`.
"""
