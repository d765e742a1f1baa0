"""The audit trail: one append-only record per change, in a shape that never varies."""

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

AUDIT_KEYS = ("at", "actor", "action", "entity", "before", "after", "changed")


def _plain(value: Any) -> Any:
    # Records are stored and published as JSON, so every value is reduced to JSON's types.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _changed(before: dict | None, after: dict | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def audit_record(
    actor: str, action: str, entity: str, before: Any, after: Any, at: datetime
) -> dict[str, Any]:
    """One audit record: who (`actor`) did what (`action`) to which `entity` (e.g. "entry:E-1") when (`at`,
    UTC), its state before and after (None when created or deleted), and the names of the fields that changed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the audit time must carry a time zone")
    before, after = _plain(before), _plain(after)
    return {
        "at": at.astimezone(UTC).isoformat(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "before": before,
        "after": after,
        "changed": _changed(before, after),
    }
