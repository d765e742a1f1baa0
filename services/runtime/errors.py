"""Domain errors: what handlers, consumers and jobs raise when a request cannot be done.

They say what went wrong in the service's own terms and know nothing of HTTP; `runtime.web` answers each
with problem+json (RFC 9457) in one place, by its `status`. A consumer that meets one retries the event and
then dead-letters it, like any other failure.

    raise NotFound(f"no entry {entry_id}")
    raise Conflict(f"a {state} run never changes")
    raise Forbidden("you may see only your own entries")
    raise Invalid("the period is YYYY-MM", field="period", message="YYYY-MM with a month from 01 to 12")
"""
from __future__ import annotations


class DomainError(Exception):
    """A request the service refuses: `detail` for people, `errors` naming the fields at fault, `extra` members."""

    status = 400
    title = "Refused"

    def __init__(self, detail: str, errors: list[dict] | None = None, *, title: str | None = None, **extra):
        super().__init__(detail)
        self.detail, self.errors, self.extra = detail, errors, extra
        if title is not None:
            self.title = title


class Malformed(DomainError):
    """The request cannot be read at all (not JSON, no body)."""

    status = 400
    title = "Malformed request"


class Forbidden(DomainError):
    """The caller may not see or do this (they are who they say; the record is not theirs)."""

    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    """No such record (or none the caller may know of)."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The record's state does not allow this now (already done, closed, changed meanwhile)."""

    status = 409
    title = "Conflict"


class Invalid(DomainError):
    """Input that breaks a rule, naming each field at fault: `Invalid(detail, field=..., message=...)` for one
    field, `Invalid(detail, errors=[{"field": ..., "message": ...}, ...])` for several."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str = "the request has invalid fields", errors: list[dict] | None = None, *,
                 field: str | None = None, message: str | None = None, **kwargs):
        if field is not None:
            errors = [*(errors or []), {"field": field, "message": message or detail}]
        super().__init__(detail, errors, **kwargs)
