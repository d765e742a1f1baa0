"""Events of the payroll service."""
from marshmallow import Schema, fields, validate  # noqa: F401 - used as schemas are added

from contracts import topics  # noqa: F401

EVENTS: dict = {}
