"""Events of the identity service: a sign-in (session) ended before its access tokens expire."""
from marshmallow import Schema, fields, validate

from contracts import topics

REVOCATION_REASONS = ("signed_out", "refresh_reuse_detected", "password_reset", "inactive")


class SessionRevokedSchema(Schema):
    """A session revoked: its access tokens (claim `sid`) are refused by every service until `expires_at`,
    after which none of them is valid anyway."""

    sid = fields.String(required=True, validate=validate.Length(1, 64))
    employee_id = fields.String(required=True, validate=validate.Length(1, 64))
    reason = fields.String(required=True, validate=validate.OneOf(REVOCATION_REASONS))
    revoked_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)


EVENTS = {
    "identity.session.revoked": (topics.IDENTITY_SESSIONS, SessionRevokedSchema),
}
