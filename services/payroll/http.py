"""The payroll's REST API: requests in, handler calls, responses out.

Roles: `finance` drafts, reviews, approves and pays runs, keeps bank accounts, budgets and grades;
`admin` records disciplinary sanctions and reads everything; staff read their own payslips of approved
and paid runs.
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, render_template, request
from marshmallow import Schema, ValidationError, fields, validate, validates

from payroll import handlers
from payroll.domain.policy import SANCTION_LEVELS
from payroll.domain.tpp import MONTH_NAMES, format_rupiah
from runtime.auth import authenticate, require
from runtime.problems import Problem
from runtime.web import db, documented, load_json, period_arg

blueprint = Blueprint("payroll", __name__)
SEE_ALL = ("finance", "admin")
NIP = re.compile(r"^\d{18}$")
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class RunRequest(Schema):
    """Which month to draft."""

    year = fields.Integer(required=True, strict=True, validate=validate.Range(2000, 2100))
    month = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))


class ApproveRequest(Schema):
    """Optionally, the content hash the approver reviewed (refused if the run differs)."""

    content_hash = fields.String(load_default=None, allow_none=True, validate=validate.Length(equal=64))


class SanctionRequest(Schema):
    """A disciplinary sanction: level, first month (YYYY-MM), number of months, reason."""

    level = fields.String(required=True, validate=validate.OneOf(SANCTION_LEVELS))
    start = fields.String(required=True)
    months = fields.Integer(required=True, strict=True, validate=validate.Range(1, 120))
    reason = fields.String(load_default="", validate=validate.Length(max=500))

    @validates("start")
    def _start(self, value, **kwargs):
        if not PERIOD.match(value):
            raise ValidationError("Use YYYY-MM.")


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
    return current_app.config["POLICY"]


def _employee(employee_id: str) -> str:
    if not NIP.match(employee_id):
        raise Problem(422, "Validation failed", "employee_id must be an 18-digit NIP",
                      [{"field": "employee_id", "message": "must be an 18-digit NIP"}])
    return employee_id


def _committed(result):
    db().commit()
    return result


# --- payroll's own records ------------------------------------------------------------------------------

@blueprint.put("/sanctions/<employee_id>")
@require("admin")
@documented(SanctionRequest)
def put_sanction(employee_id):
    """Record or replace an employee's disciplinary sanction (admin)."""
    data = load_json(SanctionRequest())
    data["start_year"], data["start_month"] = period_arg(data.pop("start"))
    return _committed(handlers.set_sanction(db(), _employee(employee_id), data, authenticate().subject, _policy()))


@blueprint.get("/sanctions/<employee_id>")
@require()
def get_sanction(employee_id):
    """An employee's sanction with its percent per month (admin, finance, or the employee)."""
    principal = authenticate()
    if not principal.has(*SEE_ALL) and principal.subject != employee_id:
        raise Problem(403, "Forbidden", "you may only see your own sanction")
    found = handlers.get_sanction(db(), _employee(employee_id), _policy())
    if found is None:
        raise Problem(404, "Not found", f"no sanction for {employee_id}")
    return found


@blueprint.delete("/sanctions/<employee_id>")
@require("admin")
def delete_sanction(employee_id):
    """Lift an employee's sanction (admin)."""
    if not _committed(handlers.delete_sanction(db(), _employee(employee_id))):
        raise Problem(404, "Not found", f"no sanction for {employee_id}")
    return "", 204


@blueprint.put("/bank-accounts/<employee_id>")
@require("finance")
@documented(BankAccountRequest)
def put_bank_account(employee_id):
    """Record where an employee's TPP is transferred (finance)."""
    data = load_json(BankAccountRequest())
    return _committed(handlers.set_bank_account(db(), _employee(employee_id), data, authenticate().subject))


@blueprint.put("/budgets/<unit_id>/<period>")
@require("finance")
@documented(BudgetRequest)
def put_budget(unit_id, period):
    """Set a unit's TPP budget for a month YYYY-MM (finance)."""
    year, month = period_arg(period)
    data = load_json(BudgetRequest())
    return _committed(handlers.set_budget(db(), unit_id, year, month, data["amount"], authenticate().subject))


@blueprint.put("/grades/<employee_id>")
@require("finance", "admin")
@documented(GradeRequest)
def put_grade(employee_id):
    """Record an employee's golongan for the tax line (finance, admin); the directory does not carry it."""
    data = load_json(GradeRequest())
    return _committed(handlers.set_grade(db(), _employee(employee_id), data["grade"], authenticate().subject))


# --- runs -----------------------------------------------------------------------------------------------

@blueprint.post("/runs")
@require("finance")
@documented(RunRequest)
def post_run():
    """Draft the organisation's payroll run for a month (finance)."""
    data = load_json(RunRequest())
    run = handlers.draft_run(db(), _policy(), current_app.config["ORGANISATION"], data["year"], data["month"],
                             authenticate().subject)
    return _committed(run), 201


@blueprint.get("/runs")
@require(*SEE_ALL)
def get_runs():
    """Payroll runs, newest month first (finance, admin)."""
    year = request.args.get("year", type=int)
    return {"runs": handlers.list_runs(db(), year)}


@blueprint.get("/runs/<run_id>")
@require(*SEE_ALL)
def get_run(run_id):
    """One run's state, totals, skipped employees and late corrections (finance, admin)."""
    return handlers.get_run(db(), run_id)


@blueprint.post("/runs/<run_id>/recompute")
@require("finance")
def recompute(run_id):
    """Recompute a draft from current facts; unchanged facts change nothing (finance)."""
    run, changed = handlers.recompute_run(db(), _policy(), run_id, authenticate().subject)
    return _committed(dict(run, changed=changed))


@blueprint.post("/runs/<run_id>/review")
@require("finance")
def review(run_id):
    """Mark a draft reviewed (finance)."""
    return _committed(handlers.review_run(db(), run_id, authenticate().subject))


@blueprint.post("/runs/<run_id>/return")
@require("finance")
def send_back(run_id):
    """Send a reviewed run back to draft (finance)."""
    return _committed(handlers.return_run(db(), run_id, authenticate().subject))


@blueprint.post("/runs/<run_id>/approve")
@require("finance")
@documented(ApproveRequest)
def approve(run_id):
    """Approve a reviewed run; not by who drafted or recomputed it (finance)."""
    body = request.get_json(silent=True) or {}
    try:
        data = ApproveRequest().load(body)
    except ValidationError as exc:
        from runtime.problems import from_validation_error
        raise from_validation_error(exc) from None
    return _committed(handlers.approve_run(db(), run_id, authenticate().subject, data["content_hash"]))


@blueprint.post("/runs/<run_id>/paid")
@require("finance")
def paid(run_id):
    """Mark an approved run paid (finance)."""
    return _committed(handlers.mark_paid(db(), run_id, authenticate().subject))


# --- payslips -------------------------------------------------------------------------------------------

def _may_read(employee_id: str) -> bool:
    principal = authenticate()
    if not principal.has(*SEE_ALL) and principal.subject != employee_id:
        raise Problem(403, "Forbidden", "you may only read your own payslip")
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
def payslip_html(run_id, employee_id):
    """One payslip as a printable page (finance, admin, or the employee)."""
    handlers.visible_run(db(), run_id, _may_read(_employee(employee_id)))
    slip = handlers.get_payslip(db(), run_id, employee_id)
    html = render_template("payslip.html", slip=slip, rupiah=format_rupiah,
                           period=f"{MONTH_NAMES[slip['month']]} {slip['year']}",
                           organisation=current_app.config["ORGANISATION"])
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
def bank_csv(run_id):
    """The bank transfer file of an approved or paid run; columns from the policy (finance)."""
    text, filename = handlers.bank_file(db(), run_id, _policy())
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blueprint.get("/runs/<run_id>/bank-summary")
@require("finance")
def bank_summary(run_id):
    """Transfers per unit of an approved or paid run, and who has no bank account (finance)."""
    return handlers.bank_summary(db(), run_id)
