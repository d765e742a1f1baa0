"""Presence from a phone: geofence verdicts and doubts, with distances computed by hand.

One degree of latitude is R·π/180 = 6,371,008.8 × 0.01745329 = 111,195.08 m, so 0.001° is 111.195 m. At
Surabaya's city hall (7.2575° S, 112.7521° E), cos 7.2575° = 0.991988, so 0.001° of longitude is 110.304 m.
"""
from datetime import UTC, datetime, timedelta

import pytest

from attendance.domain.presence import (
    CheckIn, Circle, DoubtKind, FenceVerdict, Fix, Polygon, PresencePolicy, PriorPunch, distance_m, doubts, fence_verdict)

LAT, LON = -7.2575, 112.7521
HALL = Circle("balai-kota", LAT, LON, 100.0)
SQUARE = Polygon("kantor", ((LAT - 0.0005, LON - 0.0005), (LAT - 0.0005, LON + 0.0005),
                            (LAT + 0.0005, LON + 0.0005), (LAT + 0.0005, LON - 0.0005)))
AT = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)  # 07:10 in Surabaya
POLICY = PresencePolicy()


def check_in(lat=LAT, lon=LON, accuracy=20.0, at=AT, device_time=None, photo="ab" * 32):
    return CheckIn(at=at, device_time=device_time, fix=Fix(lat, lon, accuracy), photo_sha256=photo)


def kinds(found):
    return [d.kind for d in found]


def test_distances_by_hand():
    assert distance_m(LAT, LON, LAT + 0.001, LON) == pytest.approx(111.195, abs=0.001)
    assert distance_m(LAT, LON, LAT, LON + 0.001) == pytest.approx(110.304, abs=0.01)


def test_circle_inside_and_outside_by_the_metres_past_its_radius():
    assert fence_verdict(Fix(LAT + 0.0008, LON, 10), [HALL]) == FenceVerdict(True, "balai-kota", 0.0)  # 88.96 m from the centre
    verdict = fence_verdict(Fix(LAT + 0.001, LON, 10), [HALL])  # 111.195 m − 100 m
    assert (verdict.inside, verdict.fence_id, verdict.distance_m) == (False, "balai-kota", 11.2)


def test_polygon_inside_and_distance_to_its_nearest_edge():
    assert fence_verdict(Fix(LAT, LON, 10), [SQUARE]).inside
    verdict = fence_verdict(Fix(LAT, LON + 0.0015, 10), [SQUARE])  # 0.001° east of the east edge: 110.30 m
    assert (verdict.inside, verdict.fence_id, verdict.distance_m) == (False, "kantor", 110.3)


def test_the_nearest_fence_is_named_and_no_fence_means_no_distance():
    far = Circle("puskesmas", LAT + 0.01, LON, 50.0)  # 1,111.95 m north, radius 50 → 1,061.95 m away
    assert fence_verdict(Fix(LAT, LON, 5), [far, HALL]).fence_id == "balai-kota"
    assert fence_verdict(Fix(LAT + 0.002, LON, 5), [far]).distance_m == pytest.approx(1061.95 - 222.39, abs=0.1)
    assert fence_verdict(Fix(LAT, LON, 5), []) == FenceVerdict(False, None, None)


def test_a_clean_check_in_inside_its_fence_has_no_doubt():
    ci = check_in()
    assert doubts(ci, fence_verdict(ci.fix, [HALL]), False, [], None, POLICY) == []


def test_inaccurate_and_outside_are_doubts_unless_the_day_is_exempt():
    ci = check_in(lat=LAT + 0.001, accuracy=150.0)
    verdict = fence_verdict(ci.fix, [HALL])
    found = doubts(ci, verdict, False, [], None, POLICY)
    assert kinds(found) == [DoubtKind.INACCURATE, DoubtKind.OUTSIDE_FENCE]
    assert found[0].evidence == {"accuracy_m": 150.0, "limit_m": 100.0}
    assert found[1].evidence == {"nearest_fence": "balai-kota", "distance_m": 11.2}
    assert kinds(doubts(ci, verdict, True, [], None, POLICY)) == [DoubtKind.INACCURATE]


def test_impossible_travel_counts_the_distance_beyond_the_fix_accuracy():
    prior = PriorPunch("p1", AT - timedelta(minutes=10), LAT, LON)
    # 0.3° north = 33,358.5 m, less the 20 m accuracy = 33,338.5 m in 10 min = 200.03 km/h > 150
    far = check_in(lat=LAT + 0.3)
    found = doubts(far, fence_verdict(far.fix, []), True, [prior], None, POLICY)
    assert kinds(found) == [DoubtKind.IMPOSSIBLE_TRAVEL]
    assert found[0].evidence == {"since_punch": "p1", "distance_m": 33339, "minutes": 10.0, "speed_kmh": 200,
                                 "limit_kmh": 150.0}
    # 0.2° north = 22,239.0 m − 20 m in 10 min = 133.3 km/h: possible
    near = check_in(lat=LAT + 0.2)
    assert doubts(near, fence_verdict(near.fix, []), True, [prior], None, POLICY) == []


def test_jitter_is_not_travel_and_a_burst_counts_as_a_minute():
    jitter = check_in(lat=LAT + 0.00027, accuracy=40.0)  # 30.0 m within a 40 m fix, 30 s later
    prior = PriorPunch("p1", AT - timedelta(seconds=30), LAT, LON)
    assert doubts(jitter, fence_verdict(jitter.fix, [HALL]), False, [prior], None, POLICY) == []
    # 0.05° (5,559.8 m − 20 m) in 30 s counts as one minute: 332 km/h
    jump = check_in(lat=LAT + 0.05)
    found = doubts(jump, fence_verdict(jump.fix, []), True, [prior], None, POLICY)
    assert kinds(found) == [DoubtKind.IMPOSSIBLE_TRAVEL] and found[0].evidence["speed_kmh"] == 332


def test_a_punch_without_a_location_is_not_compared():
    fingerprint = PriorPunch("f1", AT - timedelta(minutes=1))
    far = check_in(lat=LAT + 0.3)
    assert doubts(far, fence_verdict(far.fix, []), True, [fingerprint], None, POLICY) == []


def test_reused_photo_and_clock_skew_carry_their_evidence():
    ci = check_in(device_time=AT + timedelta(minutes=6))
    found = doubts(ci, fence_verdict(ci.fix, [HALL]), False, [], "p7", POLICY)
    assert kinds(found) == [DoubtKind.PHOTO_REUSED, DoubtKind.CLOCK_SKEW]
    assert found[0].evidence == {"photo_sha256": "ab" * 32, "first_punch": "p7"}
    assert found[1].evidence == {"skew_s": 360, "limit_s": 300}
    behind = check_in(device_time=AT - timedelta(minutes=4))
    assert doubts(behind, fence_verdict(behind.fix, [HALL]), False, [], None, POLICY) == []


def test_a_position_repeated_to_the_metre_is_a_doubt():
    yesterday = PriorPunch("p2", AT - timedelta(days=1), LAT + 0.0001, LON)
    same = check_in(lat=LAT + 0.0001)
    found = doubts(same, fence_verdict(same.fix, [HALL]), False, [yesterday], None, POLICY)
    assert kinds(found) == [DoubtKind.REPEATED_LOCATION]
    assert found[0].evidence == {"same_as_punch": "p2", "distance_m": 0.0}
    two_metres = check_in(lat=LAT + 0.0001 + 0.000018)  # 2.0 m from yesterday's spot
    assert doubts(two_metres, fence_verdict(two_metres.fix, [HALL]), False, [yesterday], None, POLICY) == []


def test_the_thresholds_are_policy():
    strict = PresencePolicy(max_accuracy_m=10.0, max_speed_kmh=100.0, max_clock_skew_s=60)
    prior = PriorPunch("p1", AT - timedelta(minutes=10), LAT, LON)
    ci = check_in(lat=LAT + 0.2, device_time=AT + timedelta(seconds=90))
    assert kinds(doubts(ci, fence_verdict(ci.fix, []), True, [prior], None, strict)) == [
        DoubtKind.INACCURATE, DoubtKind.IMPOSSIBLE_TRAVEL, DoubtKind.CLOCK_SKEW]


def test_the_presence_thresholds_come_from_the_attendance_section():
    from attendance.domain.policy import load_policy
    from marshmallow import ValidationError
    assert load_policy({}).presence == PresencePolicy()
    assert load_policy({"presence": {"max_accuracy_m": 50, "max_clock_skew_s": 120}}).presence == PresencePolicy(
        max_accuracy_m=50.0, max_clock_skew_s=120)
    with pytest.raises(ValidationError) as refused:
        load_policy({"presence": {"max_accuracy_m": 0, "max_speed": 100}})
    assert refused.value.messages == {"presence": {"max_accuracy_m": ["Must be greater than or equal to 1."],
                                                   "max_speed": ["Unknown field."]}}


def test_work_from_anywhere_weekdays_are_policy():
    from attendance.domain.policy import load_policy
    from marshmallow import ValidationError
    assert load_policy({"presence": {"anywhere_weekdays": [5]}}).presence.anywhere_weekdays == (5,)
    with pytest.raises(ValidationError):
        load_policy({"presence": {"anywhere_weekdays": [0]}})
