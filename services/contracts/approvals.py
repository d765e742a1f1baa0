"""Events of the approvals service: supervisors' decisions, verification, month closing."""
from marshmallow import Schema, fields, validate

from contracts import topics
from contracts.vocabulary import DECISION_ACTIONS, ENTRY_STATES, NIP, VERDICTS


class DecisionSchema(Schema):
    """A supervisor's decision on one entry version (approve, reject, strike/coret, set minutes)."""

    decision_id = fields.String(required=True)
    entry_id = fields.String(required=True)
    entry_version = fields.Integer(required=True)
    employee_id = fields.String(required=True, validate=NIP)
    unit_id = fields.String(load_default=None, allow_none=True)
    local_date = fields.Date(required=True)
    decider_id = fields.String(required=True, validate=NIP)
    action = fields.String(required=True, validate=validate.OneOf(DECISION_ACTIONS))
    reason = fields.String(load_default=None, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(ENTRY_STATES))
    accepted_minutes = fields.Integer(load_default=None, allow_none=True)
    credited_minutes = fields.Integer(required=True)
    sampled = fields.Boolean(required=True)  # selected for independent verification
    creditable = fields.Boolean(required=True)  # counts for the activity score as things stand
    escalation_level = fields.Integer(load_default=0)
    on_time = fields.Boolean(required=True)
    decided_at = fields.AwareDateTime(required=True)


class VerificationSchema(Schema):
    """The independent unit upholding or overturning a decision."""

    verification_id = fields.String(required=True)
    decision_id = fields.String(required=True)
    entry_id = fields.String(required=True)
    employee_id = fields.String(required=True, validate=NIP)
    unit_id = fields.String(load_default=None, allow_none=True)
    local_date = fields.Date(required=True)
    verifier_id = fields.String(required=True, validate=NIP)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    reason = fields.String(load_default=None, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(ENTRY_STATES))
    verified = fields.Boolean(required=True)
    creditable = fields.Boolean(required=True)
    credited_minutes = fields.Integer(required=True)
    verified_at = fields.AwareDateTime(required=True)


class MonthClosedSchema(Schema):
    """A unit's month closed by the verification unit: its entries are locked; scoring may score it."""

    unit_id = fields.String(required=True)
    year = fields.Integer(required=True)
    month = fields.Integer(required=True, validate=validate.Range(1, 12))
    closed_by = fields.String(required=True, validate=NIP)
    closed_at = fields.AwareDateTime(required=True)
    entry_count = fields.Integer(required=True)


class VerifierAssignmentSchema(Schema):
    """A verifier of the independent unit assigned to (or, inactive, removed from) a unit: the units whose
    records they may read elsewhere. Compacted, keyed `<verifier_id>:<unit_id>`."""

    verifier_id = fields.String(required=True, validate=NIP)
    unit_id = fields.String(required=True)
    active = fields.Boolean(required=True)


EVENTS = {
    "approvals.decision.made": (topics.APPROVALS_DECISIONS, DecisionSchema),
    "approvals.verification.made": (topics.APPROVALS_VERIFICATIONS, VerificationSchema),
    "approvals.month.closed": (topics.APPROVALS_MONTHS, MonthClosedSchema),
    "approvals.verifier.assigned": (topics.APPROVALS_VERIFIERS, VerifierAssignmentSchema),
}
