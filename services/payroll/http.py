"""The payroll's REST API: requests in, handler calls, responses out.

Roles: `finance` drafts, reviews, approves and pays runs, keeps bank accounts, budgets and grades;
`admin` records disciplinary sanctions and reads everything; staff read their own payslips of approved
and paid runs.
"""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from payroll import handlers
from payroll.domain.policy import SANCTION_LEVELS, load_policy
from payroll.domain.tpp import MONTH_NAMES, format_rupiah
from contracts.vocabulary import is_nip
from runtime.access import require_read
from runtime.auth import authenticate, require
from runtime.errors import Invalid, NotFound
from runtime.policy import PolicyError, parse_policy, preset_names, presets_dir, read_policy, section_of
from runtime.uow import transactional
from runtime.web import db, documented, load_args, load_json, period_arg, service_context

blueprint = Blueprint("payroll", __name__)
SEE_ALL = ("finance", "admin")
# Payslips and sanctions are read by their employee and by finance and admin: not by supervisors or verifiers.
PAY_READERS = {"read_all": SEE_ALL, "supervisors": False, "verifiers": False}


class RunRequest(Schema):
    """Which month to draft."""

    year = fields.Integer(required=True, strict=True, validate=validate.Range(2000, 2100))
    month = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))


class SimulationRequest(Schema):
    """A closed month to price under another policy: a shipped preset by name, or a whole policy file's text
    (TOML; its `[payroll]` and `[discipline]` sections are read). Nothing is written to runs."""

    year = fields.Integer(required=True, strict=True, validate=validate.Range(2000, 2100))
    month = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))
    preset = fields.String(load_default=None, allow_none=True)
    policy = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200_000))

    @validates_schema
    def _one_policy(self, data, **kwargs):
        if (data.get("preset") is None) == (data.get("policy") is None):
            raise ValidationError("give either preset (a shipped policy's name) or policy (a TOML file's text)",
                                  "preset")
        if data.get("preset") is not None and data["preset"] not in preset_names():
            raise ValidationError(f"not a shipped preset; one of: {', '.join(preset_names())}", "preset")


class ApproveRequest(Schema):
    """Optionally, the content hash the approver reviewed (refused if the run differs)."""

    content_hash = fields.String(load_default=None, allow_none=True, validate=validate.Length(equal=64))


class SanctionRequest(Schema):
    """A disciplinary sanction: level, first month (YYYY-MM), number of months, reason."""

    level = fields.String(required=True, validate=validate.OneOf(SANCTION_LEVELS))
    start = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use YYYY-MM."))
    months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 120))
    reason = fields.String(load_default="", validate=validate.Length(max=500))

    @post_load
    def _start_month(self, data, **kwargs):
        year, month = data.pop("start").split("-")
        return dict(data, start_year=int(year), start_month=int(month))


class BankAccountRequest(Schema):
    """Where an employee's TPP is transferred."""

    bank_code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9]{2,20}$"))
    bank_account = fields.String(required=True, validate=validate.Regexp(r"^[0-9-]{5,40}$"))


class BudgetRequest(Schema):
    """A unit's TPP budget for a month, in whole rupiah."""

    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class GradeRequest(Schema):
    """An employee's golongan (grade), e.g. III/a."""

    grade = fields.String(required=True, validate=validate.Regexp(r"^(I|II|III|IV|V|IX|X|XI|XII|XIII|XIV|XV|XVI|XVII)(/[a-e])?$"))


def _policy():
    return service_context().policy


def _employee(employee_id: str) -> str:
    if not is_nip(employee_id):
        raise Invalid("employee_id must be an 18-digit NIP", field="employee_id", message="must be an 18-digit NIP")
    return employee_id


# --- payroll's own records ------------------------------------------------------------------------------

@blueprint.put("/sanctions/<employee_id>")
@transactional
@require("admin")
@documented(SanctionRequest)
def put_sanction(employee_id):
    """Record or replace an employee's disciplinary sanction (admin)."""
    data = load_json(SanctionRequest())
    return handlers.set_sanction(db(), _employee(employee_id), data, authenticate().subject, _policy())


@blueprint.get("/sanctions/<employee_id>")
@require()
def get_sanction(employee_id):
    """An employee's sanction with its percent per month (admin, finance, or the employee)."""
    require_read(db(), authenticate(), employee_id, "you may only see your own sanction", **PAY_READERS)
    found = handlers.get_sanction(db(), _employee(employee_id), _policy())
    if found is None:
        raise NotFound(f"no sanction for {employee_id}")
    return found


@blueprint.delete("/sanctions/<employee_id>")
@transactional
@require("admin")
@documented(status=204)
def delete_sanction(employee_id):
    """Lift an employee's sanction (admin)."""
    handlers.delete_sanction(db(), _employee(employee_id))
    return "", 204


@blueprint.put("/bank-accounts/<employee_id>")
@transactional
@require("finance")
@documented(BankAccountRequest)
def put_bank_account(employee_id):
    """Record where an employee's TPP is transferred (finance)."""
    data = load_json(BankAccountRequest())
    return handlers.set_bank_account(db(), _employee(employee_id), data, authenticate().subject)


@blueprint.put("/budgets/<unit_id>/<period>")
@transactional
@require("finance")
@documented(BudgetRequest)
def put_budget(unit_id, period):
    """Set a unit's TPP budget for a month YYYY-MM (finance)."""
    year, month = period_arg(period)
    data = load_json(BudgetRequest())
    return handlers.set_budget(db(), unit_id, year, month, data["amount"], authenticate().subject)


@blueprint.put("/grades/<employee_id>")
@transactional
@require("finance", "admin")
@documented(GradeRequest)
def put_grade(employee_id):
    """Record an employee's golongan for the tax line (finance, admin); the directory does not carry it."""
    data = load_json(GradeRequest())
    return handlers.set_grade(db(), _employee(employee_id), data["grade"], authenticate().subject)


# --- runs -----------------------------------------------------------------------------------------------

@blueprint.post("/runs")
@transactional
@require("finance")
@documented(RunRequest, status=201, problems=(409,))
def post_run():
    """Draft the organisation's payroll run for a month (finance)."""
    data = load_json(RunRequest())
    run = handlers.draft_run(db(), _policy(), service_context().organisation, data["year"], data["month"],
                             authenticate().subject)
    return run, 201


@blueprint.post("/simulations")
@require("finance", "admin")
@documented(SimulationRequest, problems=(409, 422))
def post_simulation():
    """Price a closed month under another policy (a preset or an uploaded TOML) beside the one in force: totals,
    per unit and job class, winners and losers with the lines that changed, the budget impact (finance, admin).
    Nothing is written."""
    data = load_json(SimulationRequest())
    if data["preset"] is not None:
        label, document = data["preset"], read_policy(presets_dir() / f"{data['preset']}.toml")
    else:
        label = "uploaded policy"
        try:
            document = parse_policy(data["policy"], label)
        except PolicyError as exc:
            raise Invalid(str(exc), field="policy") from None
    try:
        candidate = section_of(document, "payroll", load_policy, discipline=True, source=label)
    except PolicyError as exc:
        where = "preset" if data["preset"] else "policy"
        raise Invalid(f"the {label} cannot price a month", [
            {"field": f"{where}.{key}", "message": message} for key, message in exc.errors]) from None
    return handlers.simulate(db(), _policy(), candidate, label, data["year"], data["month"])


RUNS_QUERY = {"year": fields.Integer(strict=False, validate=validate.Range(2000, 2100))}


@blueprint.get("/runs")
@require(*SEE_ALL)
@documented(query=RUNS_QUERY)
def get_runs():
    """Payroll runs, newest month first (finance, admin)."""
    return {"runs": handlers.list_runs(db(), load_args(Schema.from_dict(RUNS_QUERY)()).get("year"))}


@blueprint.get("/corrections")
@require(*SEE_ALL)
def get_corrections():
    """Corrections of approved months not yet paid by an approved run, each with its cause and the run month it
    lands in (and the draft run already carrying it) (finance, admin)."""
    return handlers.list_corrections(db(), _policy())


@blueprint.get("/runs/<run_id>")
@require(*SEE_ALL)
def get_run(run_id):
    """One run's state, totals, skipped employees and late corrections (finance, admin)."""
    return handlers.get_run(db(), run_id)


@blueprint.post("/runs/<run_id>/recompute")
@transactional
@require("finance")
@documented(problems=(409,))
def recompute(run_id):
    """Recompute a draft from current facts; unchanged facts change nothing (finance)."""
    run, changed = handlers.recompute_run(db(), _policy(), run_id, authenticate().subject)
    return dict(run, changed=changed)


@blueprint.post("/runs/<run_id>/review")
@transactional
@require("finance")
@documented(problems=(409,))
def review(run_id):
    """Mark a draft reviewed (finance)."""
    return handlers.review_run(db(), run_id, authenticate().subject)


@blueprint.post("/runs/<run_id>/return")
@transactional
@require("finance")
@documented(problems=(409,))
def send_back(run_id):
    """Send a reviewed run back to draft (finance)."""
    return handlers.return_run(db(), run_id, authenticate().subject)


@blueprint.post("/runs/<run_id>/approve")
@transactional
@require("finance")
@documented(ApproveRequest, problems=(409,))
def approve(run_id):
    """Approve a reviewed run; not by who drafted or recomputed it (finance)."""
    data = ApproveRequest().load(request.get_json(silent=True) or {})  # the body is optional
    return handlers.approve_run(db(), run_id, authenticate().subject, data["content_hash"])


@blueprint.post("/runs/<run_id>/paid")
@transactional
@require("finance")
@documented(problems=(409,))
def paid(run_id):
    """Mark an approved run paid (finance)."""
    return handlers.mark_paid(db(), run_id, authenticate().subject)


# --- payslips -------------------------------------------------------------------------------------------

def _may_read(employee_id: str) -> bool:
    """Whether the caller sees every payslip; Forbidden unless they may read `employee_id`'s."""
    principal = authenticate()
    require_read(db(), principal, employee_id, "you may only read your own payslip", **PAY_READERS)
    return principal.has(*SEE_ALL)


@blueprint.get("/runs/<run_id>/payslips")
@require()
def payslips(run_id):
    """A run's payslips: all of them for finance and admin, one's own for anyone else."""
    principal = authenticate()
    sees_all = principal.has(*SEE_ALL)
    handlers.visible_run(db(), run_id, sees_all)
    return {"payslips": handlers.list_payslips(db(), run_id, None if sees_all else principal.subject)}


@blueprint.get("/runs/<run_id>/payslips/<employee_id>")
@require()
def payslip(run_id, employee_id):
    """One payslip as JSON, every line with its rule and evidence (finance, admin, or the employee)."""
    handlers.visible_run(db(), run_id, _may_read(_employee(employee_id)))
    return handlers.get_payslip(db(), run_id, employee_id)


@blueprint.get("/runs/<run_id>/payslips/<employee_id>.html")
@require()
@documented(produces="text/html")
def payslip_html(run_id, employee_id):
    """One payslip as a printable page (finance, admin, or the employee)."""
    handlers.visible_run(db(), run_id, _may_read(_employee(employee_id)))
    slip = handlers.get_payslip(db(), run_id, employee_id)
    html = render_template("payslip.html", slip=slip, rupiah=format_rupiah,
                           period=f"{MONTH_NAMES[slip['month']]} {slip['year']}",
                           organisation=service_context().organisation)
    return Response(html, mimetype="text/html")


@blueprint.get("/me/payslips")
@require()
def mine():
    """The caller's own payslips of approved and paid runs."""
    return {"payslips": handlers.my_payslips(db(), authenticate().subject)}


# --- budgets and bank -----------------------------------------------------------------------------------

@blueprint.get("/runs/<run_id>/budget")
@require(*SEE_ALL)
def budget(run_id):
    """Planned, paid and unspent TPP per unit for the run's month (finance, admin)."""
    return handlers.run_budget(db(), run_id)


@blueprint.get("/runs/<run_id>/bank.csv")
@require("finance")
@documented(produces="text/csv", problems=(409,))
def bank_csv(run_id):
    """The bank transfer file of an approved or paid run; columns from the policy (finance)."""
    text, filename = handlers.bank_file(db(), run_id, _policy())
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blueprint.get("/runs/<run_id>/bank-summary")
@require("finance")
@documented(problems=(409,))
def bank_summary(run_id):
    """Transfers per unit of an approved or paid run, and who has no bank account (finance)."""
    return handlers.bank_summary(db(), run_id)
