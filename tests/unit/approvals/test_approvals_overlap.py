"""After an overturn the same minutes are credited once: an overturn onto claimed minutes is refused."""
from datetime import datetime, timezone

from approvals.domain import overlapping_claims


def _at(hour, minute=0):
    return datetime(2026, 11, 3, hour, minute, tzinfo=timezone.utc)


def test_only_entries_sharing_a_minute_are_named():
    others = [("touching-before", _at(7), _at(8)), ("inside", _at(8, 30), _at(8, 45)),
              ("straddling", _at(8, 59), _at(10)), ("touching-after", _at(9), _at(10))]
    assert overlapping_claims(_at(8), _at(9), others) == ["inside", "straddling"]
    assert overlapping_claims(_at(11), _at(12), others) == []
