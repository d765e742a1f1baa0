"""Events about the audit trail: the signed head of an audit stream (runtime.audit_chain)."""
from marshmallow import Schema, fields, validate

from contracts import topics


class AuditHeadSignedSchema(Schema):
    """The last record of an audit stream when it was signed: its `seq` and chain `hash`, at `at`, and
    `signature`, a compact JWS (RS256) of the same claims by the platform key, verified through the JWKS."""

    stream = fields.String(required=True, validate=validate.Length(1, 100))
    seq = fields.Integer(required=True, validate=validate.Range(min=0))
    hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    at = fields.AwareDateTime(required=True)
    signature = fields.String(required=True, validate=validate.Length(1, 8000))


EVENTS = {
    "audit.head.signed": (topics.AUDIT_HEADS, AuditHeadSignedSchema),
}
