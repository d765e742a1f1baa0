"""Evidence files (the photo or document proving the work): what they really are and whether they are accepted."""

from .entries import FieldError
from .policy import ActivitiesPolicy

# The file's first bytes decide its type; a name or a client-sent content type can lie.
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
SNIFF_BYTES = 8


def sniff_evidence(first_bytes: bytes) -> str | None:
    """The file's type from its first bytes (at least SNIFF_BYTES): JPEG, PNG, PDF, or None for anything else."""
    return next((mime for magic, mime in _MAGIC if first_bytes.startswith(magic)), None)


def check_evidence(size: int, mime: str | None, policy: ActivitiesPolicy) -> list[FieldError]:
    """Every reason an evidence file of this size and sniffed type is refused (empty when accepted)."""
    errors = []
    if mime not in policy.evidence.types:
        allowed = ", ".join(policy.evidence.types)
        errors.append(FieldError("file", f"is not an accepted type (accepted: {allowed})"))
    if size <= 0:
        errors.append(FieldError("file", "is empty"))
    elif size > policy.evidence.max_bytes:
        errors.append(FieldError("file", f"is larger than {_readable(policy.evidence.max_bytes)}"))
    return errors


def _readable(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"
