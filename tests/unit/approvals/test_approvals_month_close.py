"""A unit's month closes only after its last day has ended in the unit's zone (or the region's close time)."""
from datetime import date, datetime, time, timezone

import pytest
from marshmallow import ValidationError

from approvals.domain import close_opens_at, load_policy, too_early_to_close

UTC = timezone.utc
NOVEMBER = date(2026, 11, 1)


def test_november_closes_when_30_november_has_ended_in_the_units_zone():
    # WIB is UTC+7: 1 December 00:00 WIB = 30 November 17:00 UTC.
    opens, zone = close_opens_at(NOVEMBER, ["Asia/Jakarta"])
    assert (opens.astimezone(UTC), zone) == (datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "Asia/Jakarta")
    assert too_early_to_close(NOVEMBER, ["Asia/Jakarta"], datetime(2026, 11, 30, 17, 0, tzinfo=UTC)) is None
    refusal = too_early_to_close(NOVEMBER, ["Asia/Jakarta"], datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert refusal == ("2026-11 may be closed only after its last day has ended in the unit's zone Asia/Jakarta: "
                       "from 2026-12-01 00:00 Asia/Jakarta; it is now 2026-11-30 16:00 there")


def test_members_in_several_zones_wait_for_the_last_zone():
    # WIT (UTC+9) ends at 15:00 UTC, WITA (UTC+8) at 16:00, WIB (UTC+7) at 17:00: WIB decides.
    zones = ["Asia/Jayapura", "Asia/Makassar", "Asia/Jakarta"]
    opens, zone = close_opens_at(NOVEMBER, zones)
    assert (opens.astimezone(UTC), zone) == (datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "Asia/Jakarta")
    assert too_early_to_close(NOVEMBER, ["Asia/Jayapura"], datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) is None


def test_december_ends_at_the_year_end_and_an_unknown_zone_waits_for_utc():
    opens, zone = close_opens_at(date(2026, 12, 1), [])
    assert (opens, zone) == (datetime(2027, 1, 1, tzinfo=UTC).replace(tzinfo=opens.tzinfo), "UTC")


def test_a_region_may_close_once_the_last_days_schedule_is_over():
    # from_local_time = "16:00": 30 November 16:00 WITA = 08:00 UTC.
    policy = load_policy({"month_close": {"from_local_time": "16:00"}})
    assert policy.month_close.from_local_time == time(16, 0)
    opens, _ = close_opens_at(NOVEMBER, ["Asia/Makassar"], policy.month_close.from_local_time)
    assert opens.astimezone(UTC) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    refusal = too_early_to_close(NOVEMBER, ["Asia/Makassar"], datetime(2026, 11, 30, 7, 59, tzinfo=UTC), time(16))
    assert "after 16:00 on its last day (the region's close time)" in refusal
    assert load_policy({}).month_close.from_local_time is None  # default: after the day has ended


def test_a_bad_close_time_is_named_by_key():
    with pytest.raises(ValidationError) as caught:
        load_policy({"month_close": {"from_local_time": "25:00"}})
    assert "from_local_time" in caught.value.messages["month_close"]
