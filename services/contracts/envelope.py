"""The one event envelope every message on Kafka is wrapped in."""
from marshmallow import Schema, fields, validate


class EnvelopeSchema(Schema):
    """`event_id` (UUID), `type`, `version`, `occurred_at` (UTC ISO 8601), `producer`, `key`, `data`."""

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=3))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    producer = fields.String(required=True, validate=validate.Length(min=1))
    key = fields.String(required=True, validate=validate.Length(min=1))
    data = fields.Dict(required=True)
