"""The approvals REST API: requests in, handler calls, responses out."""
from __future__ import annotations


from flask import Blueprint, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from approvals import handlers
from contracts.vocabulary import DECISION_ACTIONS, VERDICTS, is_nip
from runtime.access import may_read_unit
from runtime.auth import authenticate, require
from runtime.errors import Forbidden, Invalid
from runtime.uow import transactional
from runtime.web import date_arg, db, documented, load_json, service_context

blueprint = Blueprint("approvals", __name__)


class DecisionRequestSchema(Schema):
    """A supervisor's decision; reject and strike need a reason, set_minutes needs minutes."""

    action = fields.String(required=True, validate=validate.OneOf(DECISION_ACTIONS))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    minutes = fields.Integer(load_default=None, allow_none=True, strict=True)
    entry_version = fields.Integer(load_default=None, allow_none=True, strict=True)

    @validates_schema
    def _needs(self, data, **kwargs):
        if data.get("action") in ("reject", "strike") and not (data.get("reason") or "").strip():
            raise ValidationError(f"a reason is required to {data['action']}", "reason")
        if data.get("action") == "set_minutes" and data.get("minutes") is None:
            raise ValidationError("the minutes to credit are required", "minutes")


class BulkDecisionRequestSchema(DecisionRequestSchema):
    """One decision over a selection of entries."""

    entry_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))


class VerificationRequestSchema(Schema):
    """The verifier's verdict; overturning needs a reason."""

    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


def _ctx() -> handlers.Context:
    service = service_context()
    return handlers.Context(service.policy, service.now(), service.sample_seed)


def _nip(value: str, field: str) -> str:
    if not is_nip(value):
        raise Invalid(f"{field} is not a NIP", field=field, message="18 digits")
    return value


@blueprint.get("/queue")
@require("supervisor")
def get_queue():
    """The caller's queue: their reports' submitted entries (Plt included) and those escalated to them."""
    return {"items": handlers.queue(db(), authenticate().subject, _ctx())}


@blueprint.get("/entries/<entry_id>")
@require()
def get_entry(entry_id):
    """One entry with its flags, attendance day, deadline and decisions."""
    return handlers.get_entry(db(), authenticate(), entry_id, _ctx())


@blueprint.post("/entries/<entry_id>/decisions")
@transactional
@require("supervisor")
@documented(DecisionRequestSchema, status=201, problems=(409,))
def decide(entry_id):
    """Decide one entry: approve, reject (reason), strike/coret (reason), set_minutes (free description)."""
    body = load_json(DecisionRequestSchema())
    return handlers.decide_entry(db(), authenticate().subject, entry_id, body, _ctx()), 201


@blueprint.post("/decisions/bulk")
@transactional
@require("supervisor")
@documented(BulkDecisionRequestSchema)
def decide_bulk():
    """The same decision over a selection of entries; each item succeeds or fails on its own."""
    body = load_json(BulkDecisionRequestSchema())
    results = handlers.decide_bulk(db(), authenticate().subject, body["entry_ids"], body, _ctx())
    return {"results": results, "succeeded": sum(r["ok"] for r in results),
                  "failed": sum(not r["ok"] for r in results)}


@blueprint.get("/supervisors/<supervisor_id>/timeliness")
@require()
@documented(query={"from": fields.Date(), "to": fields.Date()})
def supervisor_timeliness(supervisor_id):
    """A supervisor's punctuality record (the supervisor, admin, ops, the verifiers of the supervisor's unit)."""
    return handlers.timeliness_record(db(), authenticate(), supervisor_id, date_arg("from"), date_arg("to"))


@blueprint.get("/verifiers/<verifier_id>/units")
@require()
def verifier_units(verifier_id):
    """The units a verifier is assigned to (the verifier, admin)."""
    principal = authenticate()
    if principal.subject != verifier_id and not principal.has("admin", "ops"):
        raise Forbidden("you may see only your own assignments")
    return {"verifier_id": verifier_id, "units": handlers.assigned_units(db(), verifier_id)}


@blueprint.put("/verifiers/<verifier_id>/units/<unit_id>")
@transactional
@require("admin")
def assign_verifier(verifier_id, unit_id):
    """Assign a verifier to a unit (admin)."""
    changed = handlers.assign_verifier(db(), authenticate().subject, _nip(verifier_id, "verifier_id"), unit_id,
                                       _ctx().now)
    return {"changed": changed, "verifier_id": verifier_id, "unit_id": unit_id}


@blueprint.delete("/verifiers/<verifier_id>/units/<unit_id>")
@transactional
@require("admin")
def unassign_verifier(verifier_id, unit_id):
    """Remove a verifier from a unit (admin)."""
    changed = handlers.unassign_verifier(db(), authenticate().subject, verifier_id, unit_id, _ctx().now)
    return {"changed": changed, "verifier_id": verifier_id, "unit_id": unit_id}


@blueprint.get("/verifications/queue")
@require("verifier")
@documented(query={"unit_id": "one of the caller's units", "month": "YYYY-MM"})
def verification_queue():
    """Sampled decisions of the caller's units awaiting verification (`unit_id`, `month` YYYY-MM optional)."""
    return {"items": handlers.verification_queue(db(), authenticate().subject, request.args.get("unit_id"),
                                                 request.args.get("month"))}


@blueprint.post("/decisions/<decision_id>/verification")
@transactional
@require("verifier")
@documented(VerificationRequestSchema, status=201, problems=(409,))
def verify(decision_id):
    """Uphold or overturn a decision (a verifier of the entry's unit; overturning needs a reason)."""
    body = load_json(VerificationRequestSchema())
    return handlers.verify_decision(db(), authenticate().subject, decision_id, body, _ctx()), 201


@blueprint.get("/units/<unit_id>/months")
@require()
def unit_months(unit_id):
    """The closed months of a unit: for its verifiers, its supervisors, admin and ops (a unit's aggregate)."""
    if not may_read_unit(db(), authenticate(), unit_id):
        raise Forbidden("you may see only the units you verify or your own unit as a supervisor")
    return {"months": handlers.closed_months(db(), unit_id)}


@blueprint.post("/units/<unit_id>/months/<month>/close")
@transactional
@require("verifier")
@documented(status=201, problems=(409, 422))
def close_month(unit_id, month):
    """Close a unit's month (YYYY-MM; a verifier of that unit): refused with reasons while work is pending."""
    return handlers.close_month(db(), authenticate().subject, unit_id, month, _ctx()), 201


@blueprint.get("/audit")
@require()
@documented(query={"entry_id": fields.String(required=True)})
def audit():
    """The append-only audit trail of one entry (`entry_id`): who, when, what, before and after."""
    entry_id = request.args.get("entry_id")
    if not entry_id:
        raise Invalid("entry_id is required", field="entry_id", message="required")
    return {"entry_id": entry_id, "records": handlers.audit_trail(db(), authenticate(), entry_id)}
