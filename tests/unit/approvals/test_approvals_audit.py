from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from approvals.domain import AUDIT_KEYS, Decision, EntryState, audit_record

WIB = timezone(timedelta(hours=7))
AT = datetime(2024, 5, 17, 16, 30, tzinfo=WIB)


def test_a_record_has_a_stable_shape_in_utc():
    record = audit_record("197805122003121002", "approve", "entry:E1",
                          {"state": EntryState.SUBMITTED, "version": 2},
                          {"state": EntryState.APPROVED, "version": 2}, AT)
    assert tuple(record) == AUDIT_KEYS
    assert record == {
        "at": "2024-05-17T09:30:00+00:00",
        "actor": "197805122003121002",
        "action": "approve",
        "entity": "entry:E1",
        "before": {"state": "submitted", "version": 2},
        "after": {"state": "approved", "version": 2},
        "changed": ["state"],
    }


@pytest.mark.parametrize(
    "before, after, changed",
    [
        (None, {"state": "submitted", "quantity": 1}, ["quantity", "state"]),  # created
        ({"state": "submitted"}, None, ["state"]),  # removed
        ({"a": 1}, {"a": 1}, []),
    ],
)
def test_changed_fields(before, after, changed):
    assert audit_record("x", "edit", "entry:E1", before, after, AT)["changed"] == changed


def test_values_are_reduced_to_json_types():
    after = {"decision": Decision.strike("tidak relevan"), "on": date(2024, 5, 8), "rate": Decimal("0.1"),
             "at": datetime(2024, 5, 8, 1, 0, tzinfo=UTC), "ids": ("a", "b")}
    assert audit_record("x", "strike", "entry:E1", None, after, AT)["after"] == {
        "decision": {"kind": "strike", "reason": "tidak relevan", "minutes": None},
        "on": "2024-05-08",
        "rate": "0.1",
        "at": "2024-05-08T01:00:00+00:00",
        "ids": ["a", "b"],
    }


def test_a_time_without_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        audit_record("x", "approve", "entry:E1", None, None, datetime(2024, 5, 17, 9, 30))
