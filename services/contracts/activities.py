"""Events of the activities service: daily entries submitted, revised, withdrawn."""
from marshmallow import Schema, fields, validate

from contracts import topics
from contracts.vocabulary import ENTRY_STATES, NIP


class EvidenceRefSchema(Schema):
    """An evidence file stored by activities (content-checked, with its checksum)."""

    evidence_id = fields.String(required=True)
    sha256 = fields.String(required=True)
    mime = fields.String(required=True)
    size = fields.Integer(required=True)


class EntrySchema(Schema):
    """A daily activity entry at one version."""

    entry_id = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    employee_id = fields.String(required=True, validate=NIP)
    unit_id = fields.String(load_default=None, allow_none=True)
    position_id = fields.String(load_default=None, allow_none=True)
    local_date = fields.Date(required=True)
    zone = fields.String(required=True)
    start_at = fields.AwareDateTime(required=True)
    end_at = fields.AwareDateTime(required=True)
    catalogue_item_id = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default="")
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))
    output = fields.String(load_default="")
    norm_minutes = fields.Integer(load_default=None, allow_none=True)
    duration_minutes = fields.Integer(required=True)
    credited_minutes = fields.Integer(required=True)
    free_description = fields.Boolean(required=True)
    state = fields.String(required=True, validate=validate.OneOf(ENTRY_STATES))
    evidence = fields.List(fields.Nested(EvidenceRefSchema), load_default=list)


EVENTS = {
    "activities.entry.submitted": (topics.ACTIVITIES_ENTRIES, EntrySchema),
    "activities.entry.revised": (topics.ACTIVITIES_ENTRIES, EntrySchema),
    "activities.entry.withdrawn": (topics.ACTIVITIES_ENTRIES, EntrySchema),
}
