"""The activities REST API: requests in, handler calls, responses out."""
from __future__ import annotations


from flask import Blueprint, Response, request
from marshmallow import Schema, fields, validate

from activities import handlers
from runtime.auth import authenticate, require
from runtime.errors import Invalid
from runtime.uow import transactional
from runtime.web import date_arg, db, documented, load_json, service_context, uploaded_text

blueprint = Blueprint("activities", __name__)


class LocationSchema(Schema):
    """Where the work was done (optional)."""

    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    label = fields.String(load_default="")


class EntryRequestSchema(Schema):
    """A daily entry as staff send it; times without an offset are the employee's local time."""

    start_at = fields.DateTime(required=True)
    end_at = fields.DateTime(required=True)
    catalogue_item_id = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    quantity = fields.Integer(load_default=1, strict=True)
    output = fields.String(load_default="", validate=validate.Length(max=1000))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    evidence_ids = fields.List(fields.String(), load_default=list)
    version = fields.Integer(load_default=None, allow_none=True, strict=True)


def _now():
    return service_context().now()


def _policy():
    return service_context().policy


def _store():
    return service_context().store


@blueprint.get("/catalogue")
@require()
@documented(query={"unit_id": "items open to this unit", "position_id": "items open to this position"})
def list_catalogue():
    """Catalogue items (uraian tugas with time norms), optionally those open to a unit and position."""
    return {"items": handlers.list_catalogue(db(), request.args.get("unit_id"), request.args.get("position_id"))}


@blueprint.post("/catalogue/imports")
@transactional
@require("admin")
@documented(body=("text/csv", "multipart/form-data"))
def import_catalogue():
    """Import a catalogue CSV (body or multipart `file`): good rows kept, bad rows reported by line."""
    return handlers.import_catalogue(db(), uploaded_text(), authenticate().subject, _now())


@blueprint.post("/evidence")
@transactional
@require("staff")
@documented(body="multipart/form-data", status=201)
def upload_evidence():
    """Upload an evidence file (multipart `file`): JPEG, PNG or PDF by its bytes, within the size limit."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("no file", field="file", message="send a multipart field `file`")
    content = upload.stream.read(_policy().evidence.max_bytes + 1)
    return handlers.store_evidence(db(), _store(), authenticate().subject, upload.filename or "", content,
                                   _policy(), _now()), 201


@blueprint.get("/evidence/<evidence_id>")
@require()
@documented(produces="application/octet-stream")
def download_evidence(evidence_id):
    """An evidence file's bytes, for its owner, their approver, or verifier/admin/ops."""
    record, content = handlers.evidence_file(db(), _store(), authenticate(), evidence_id)
    response = Response(content, mimetype=record["mime"])
    response.headers["X-Content-SHA256"] = record["sha256"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _entry_body() -> dict:
    return load_json(EntryRequestSchema())


@blueprint.post("/entries")
@transactional
@require("staff")
@documented(EntryRequestSchema, status=201)
def submit_entry():
    """Submit a daily activity entry (the caller's own)."""
    return handlers.submit_entry(db(), authenticate().subject, _entry_body(), _policy(), _now()), 201


@blueprint.get("/entries")
@require()
@documented(query={"employee_id": "default: the caller", "from": fields.Date(), "to": fields.Date(), "state": "the entry state"})
def list_entries():
    """Entries of one employee (default: the caller), filtered by `from`, `to` and `state`."""
    principal = authenticate()
    employee_id = request.args.get("employee_id") or principal.subject
    return {"entries": handlers.list_entries(db(), principal, employee_id, date_arg("from"), date_arg("to"),
                                             request.args.get("state"))}


@blueprint.get("/entries/<entry_id>")
@require()
def get_entry(entry_id):
    """One entry with its evidence and outcome."""
    return handlers.get_entry(db(), authenticate(), entry_id)


@blueprint.put("/entries/<entry_id>")
@transactional
@require("staff")
@documented(EntryRequestSchema, problems=(409,))
def change_entry(entry_id):
    """Edit an undecided entry, or revise a rejected one (a new version either way)."""
    return handlers.change_entry(db(), authenticate().subject, entry_id, _entry_body(), _policy(), _now())


@blueprint.post("/entries/<entry_id>/withdraw")
@transactional
@require("staff")
@documented(problems=(409,))
def withdraw_entry(entry_id):
    """Withdraw an undecided entry (final)."""
    return handlers.withdraw_entry(db(), authenticate().subject, entry_id, _now())


@blueprint.get("/entries/<entry_id>/history")
@require()
def entry_history(entry_id):
    """Every version and outcome of one entry."""
    return {"history": handlers.entry_history(db(), authenticate(), entry_id)}


