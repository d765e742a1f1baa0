"""Who may call what: the expected outcome of every operation of every service, written once.

Each operation (`<service> <METHOD> <path>` as its OpenAPI names it) has a rule:
- `public`: no token needed (devices, sign-in, health, metrics, keys, the public scoreboard);
- `<roles on anyone's record> | <roles on their own record only>`: with a valid token, a role on the left may
  call it whatever record it names; a role on the right only for a record that is their own (the person in
  the path or the `employee_id` query is the caller); every other role is refused (403, or 404 where a
  service does not say whether someone else's record exists). `*` is every role; `none`: every role is
  refused (only a relation a stranger lacks opens it: the person's supervisor, the unit's verifier).

Supervisors and verifiers read their reports' and their units' records as well; a stranger (neither) is
what "someone else" means here, so they are on the right like staff. Checked by
tests/integration/runtime/test_authorisation_matrix.py against the running services, on empty databases:
a call past the checks may still find nothing (404) or refuse the body (422), so "allowed" means "not
refused"; a refusal is a 403, or a 404 that does not say whether the record exists.
"""
from runtime.auth import ROLES

PERSON_PARAMS = frozenset({"employee_id", "nip", "supervisor_id", "verifier_id"})

MATRIX = {
    "attendance POST /absences": "*",
    "attendance GET /absences": "admin ops | *",
    "attendance GET /days": "admin ops | *",
    "attendance POST /checkins": "*",  # always the caller's own check-in
    "attendance GET /checkins": "admin ops | *",
    "attendance GET /checkins/review": "supervisor",
    "attendance POST /checkins/{punch_id}/review": "supervisor",  # the employee's supervisor, checked on the record
    "attendance GET /checkins/{punch_id}/photo": "*",  # whoever may read the employee, checked on the record
    "attendance POST /days/build": "admin ops",
    "attendance GET /devices": "admin ops",
    "attendance POST /devices": "admin",
    "attendance POST /devices/{serial}/approve": "admin",
    "attendance GET /devices/{serial}/commands": "admin ops",
    "attendance POST /devices/{serial}/commands": "admin",
    "attendance POST /devices/{serial}/disable": "admin",
    "attendance PATCH /devices/{serial}": "admin",
    "attendance POST /devices/{serial}/reconcile": "admin",
    "attendance GET /devices/{serial}/reconciliation": "admin ops",
    "attendance GET /devices/{serial}/rejected": "admin ops",
    "attendance GET /devices/{serial}/users": "admin ops",
    "attendance GET /healthz": "public",
    "attendance GET /iclock/cdata": "public",
    "attendance POST /iclock/cdata": "public",
    "attendance GET /iclock/cdata.aspx": "public",
    "attendance POST /iclock/cdata.aspx": "public",
    "attendance POST /iclock/devicecmd": "public",
    "attendance POST /iclock/devicecmd.aspx": "public",
    "attendance GET /iclock/getrequest": "public",
    "attendance GET /iclock/getrequest.aspx": "public",
    "attendance GET /iclock/ping": "public",
    "attendance GET /iclock/ping.aspx": "public",
    "attendance GET /iclock/push": "public",
    "attendance POST /iclock/push": "public",
    "attendance GET /iclock/push.aspx": "public",
    "attendance POST /iclock/push.aspx": "public",
    "attendance POST /iclock/querydata": "public",
    "attendance POST /iclock/querydata.aspx": "public",
    "attendance POST /iclock/registry": "public",
    "attendance POST /iclock/registry.aspx": "public",
    "attendance GET /iclock/rtdata": "public",
    "attendance GET /iclock/rtdata.aspx": "public",
    "attendance GET /metrics": "public",
    "attendance GET /openapi.json": "public",
    "attendance POST /punches": "admin ops",
    "attendance GET /punches": "admin ops | *",
    "attendance GET /punches/{punch_id}/photo": "*",
    "attendance GET /readyz": "public",

    "activities GET /catalogue": "*",
    "activities POST /catalogue/imports": "admin",
    "activities POST /entries": "staff",
    "activities GET /entries": "admin ops | *",
    "activities GET /entries/{entry_id}": "*",
    "activities PUT /entries/{entry_id}": "staff",
    "activities GET /entries/{entry_id}/history": "*",
    "activities POST /entries/{entry_id}/withdraw": "staff",
    "activities POST /evidence": "staff",
    "activities GET /evidence/{evidence_id}": "*",
    "activities GET /healthz": "public",
    "activities GET /metrics": "public",
    "activities GET /openapi.json": "public",
    "activities GET /readyz": "public",

    "approvals GET /audit": "*",
    "approvals POST /decisions/{decision_id}/verification": "verifier",
    "approvals POST /decisions/bulk": "supervisor",
    "approvals GET /entries/{entry_id}": "*",
    "approvals POST /entries/{entry_id}/decisions": "supervisor",
    "approvals GET /healthz": "public",
    "approvals GET /metrics": "public",
    "approvals GET /openapi.json": "public",
    "approvals GET /queue": "supervisor",
    "approvals GET /readyz": "public",
    "approvals GET /supervisors/{supervisor_id}/timeliness": "admin ops | *",
    "approvals GET /units/{unit_id}/months": "admin ops",
    "approvals POST /units/{unit_id}/months/{month}/close": "",  # a verifier of that unit only
    "approvals GET /verifications/queue": "verifier",
    "approvals GET /verifiers/{verifier_id}/units": "admin ops | *",
    "approvals PUT /verifiers/{verifier_id}/units/{unit_id}": "admin",
    "approvals DELETE /verifiers/{verifier_id}/units/{unit_id}": "admin",

    "scoring PUT /behaviour/{employee_id}/{period}": "",  # the person's supervisor only
    "scoring GET /behaviour/{employee_id}/{period}": "admin ops | *",
    "scoring GET /flags": "admin ops | *",
    "scoring POST /flags/{flag_key}/clear": "supervisor",
    "scoring GET /healthz": "public",
    "scoring GET /metrics": "public",
    "scoring GET /months/{employee_id}/{period}": "admin ops | *",
    "scoring GET /openapi.json": "public",
    "scoring GET /posture": "admin ops",
    "scoring GET /posture.csv": "admin ops",
    "scoring GET /public/units": "public",
    "scoring GET /readyz": "public",
    "scoring PUT /targets/{employee_id}/{period}": "supervisor",  # the reporting line is checked after the body
    "scoring GET /targets/{employee_id}/{period}": "admin ops | *",
    "scoring PUT /targets/{employee_id}/{period}/assessment": "supervisor",  # the reporting line is checked after the body
    "scoring GET /units/{unit_id}/distribution/{period}": "admin ops",
    "scoring PUT /units/{unit_id}/rating/{year}": "admin",

    "payroll PUT /bank-accounts/{employee_id}": "finance",
    "payroll PUT /budgets/{unit_id}/{period}": "finance",
    "payroll GET /corrections": "admin finance",
    "payroll PUT /grades/{employee_id}": "admin finance",
    "payroll GET /healthz": "public",
    "payroll GET /me/payslips": "*",
    "payroll GET /metrics": "public",
    "payroll GET /openapi.json": "public",
    "payroll GET /readyz": "public",
    "payroll POST /runs": "finance",
    "payroll POST /simulations": "admin finance",
    "payroll GET /runs": "admin finance",
    "payroll GET /runs/{run_id}": "admin finance",
    "payroll POST /runs/{run_id}/approve": "finance",
    "payroll GET /runs/{run_id}/bank-summary": "finance",
    "payroll GET /runs/{run_id}/bank.csv": "finance",
    "payroll GET /runs/{run_id}/budget": "admin finance",
    "payroll POST /runs/{run_id}/paid": "finance",
    "payroll GET /runs/{run_id}/payslips": "*",
    "payroll GET /runs/{run_id}/payslips/{employee_id}": "admin finance | *",
    "payroll GET /runs/{run_id}/payslips/{employee_id}.html": "admin finance | *",
    "payroll POST /runs/{run_id}/recompute": "finance",
    "payroll POST /runs/{run_id}/return": "finance",
    "payroll POST /runs/{run_id}/review": "finance",
    "payroll PUT /sanctions/{employee_id}": "admin",
    "payroll GET /sanctions/{employee_id}": "admin finance | *",
    "payroll DELETE /sanctions/{employee_id}": "admin",

    "directory GET /employees": "*",
    "directory GET /employees/{employee_id}": "admin finance ops | *",
    "directory PUT /employees/{employee_id}": "admin",
    "directory PUT /employees/{employee_id}/roles": "admin",
    "directory GET /enrolments": "admin ops",
    "directory PUT /enrolments/{device_serial}/{pin}": "admin",
    "directory GET /geofences": "*",
    "directory PUT /geofences/{fence_id}": "admin",
    "directory GET /healthz": "public",
    "directory GET /holidays": "*",
    "directory PUT /holidays/{day}": "admin",
    "directory PATCH /holidays/{day}": "admin",
    "directory DELETE /holidays/{day}": "admin",
    "directory POST /holidays/{day}/confirm": "admin",
    "directory POST /holidays/seed": "admin",
    "directory GET /me": "*",
    "directory GET /metrics": "public",
    "directory GET /openapi.json": "public",
    "directory GET /positions": "*",
    "directory PUT /positions/{position_id}": "admin",
    "directory GET /readyz": "public",
    "directory POST /roster/imports": "admin",
    "directory GET /schedules": "*",
    "directory PUT /schedules/{schedule_id}": "admin",
    "directory GET /units": "*",
    "directory GET /units/{unit_id}": "*",
    "directory PUT /units/{unit_id}": "admin",

    "identity GET /.well-known/jwks.json": "public",
    "identity GET /.well-known/openid-configuration": "public",
    "identity GET /accounts/{nip}": "admin ops | *",
    "identity POST /accounts/{nip}/activation-codes": "admin",
    "identity POST /accounts/{nip}/password-reset": "admin",
    "identity POST /accounts/{nip}/unlock": "admin",
    "identity POST /accounts/activate": "public",
    "identity GET /audit": "admin ops",
    "identity POST /auth/login": "public",
    "identity POST /auth/logout": "public",
    "identity POST /auth/refresh": "public",
    "identity GET /healthz": "public",
    "identity POST /keys/rotate": "admin ops",
    "identity GET /metrics": "public",
    "identity GET /openapi.json": "public",
    "identity GET /readyz": "public",
    "identity POST /units/{unit_id}/activation-codes": "admin",
}


def expected(rule: str, role: str, whose: str) -> bool:
    """Whether `role` may call an operation of `rule` on its own record (`whose` = "own") or another's."""
    if rule in ("public", "none"):
        return rule == "public"
    anyone, _, own = rule.partition("|")

    def roles(text: str) -> set[str]:
        return set(ROLES) if text.strip() == "*" else set(text.split())
    return role in roles(anyone) or (whose == "own" and role in roles(own))
