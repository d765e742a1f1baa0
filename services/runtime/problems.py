"""RFC 9457 problem details: the one error format of every service, with the fields at fault."""
from __future__ import annotations

from marshmallow import ValidationError


class Problem(Exception):
    """An error answered as `application/problem+json`."""

    def __init__(self, status: int, title: str, detail: str | None = None, errors: list[dict] | None = None,
                 **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.errors, self.extra = status, title, detail, errors, extra

    def body(self, instance: str | None = None) -> dict:
        """The problem document."""
        doc = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        if self.errors:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def field_errors(messages, prefix: str = "") -> list[dict]:
    """Flatten marshmallow's nested messages into `[{"field": "a.b.0", "message": ...}]`."""
    out: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(field_errors(value, name))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list)):
                out.extend(field_errors(item, prefix))
            else:
                out.append({"field": prefix or None, "message": str(item)})
    else:
        out.append({"field": prefix or None, "message": str(messages)})
    return out


def from_validation_error(exc: ValidationError, status: int = 422) -> Problem:
    """A Problem naming every field at fault."""
    return Problem(status, "Validation failed", "the request has invalid fields", field_errors(exc.messages))
