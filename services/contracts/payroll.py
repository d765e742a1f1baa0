"""Events of the payroll service: a run drafted, approved, paid."""
from marshmallow import Schema, fields, validate

from contracts import topics


class RunSchema(Schema):
    """A payroll run's state and totals (amounts in whole rupiah)."""

    run_id = fields.String(required=True)
    organisation = fields.String(required=True)
    year = fields.Integer(required=True)
    month = fields.Integer(required=True, validate=validate.Range(1, 12))
    state = fields.String(required=True, validate=validate.OneOf(["draft", "reviewed", "approved", "paid"]))
    employees = fields.Integer(required=True)
    gross_total = fields.Integer(required=True)
    net_total = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    approved_by = fields.String(load_default=None, allow_none=True)


EVENTS = {
    "payroll.run.drafted": (topics.PAYROLL_RUNS, RunSchema),
    "payroll.run.approved": (topics.PAYROLL_RUNS, RunSchema),
    "payroll.run.paid": (topics.PAYROLL_RUNS, RunSchema),
}
