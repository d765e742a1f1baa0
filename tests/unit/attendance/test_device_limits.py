"""The device rate limit's counters: a fixed window per serial, expiring when read, without a thread per hit."""
import threading

import pytest
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from attendance import device_limits
from attendance.device_limits import DeviceCounters, DeviceLimit


class Clock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(device_limits.time, "time", clock)
    return clock


def test_a_window_counts_its_hits_and_a_new_one_starts_once_it_is_over(clock):
    limiter = FixedWindowRateLimiter(DeviceCounters())
    three = parse("3 per minute")
    assert [limiter.hit(three, "CQUJ1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(three, "CQUJ2")  # another serial has its own window
    reset, remaining = limiter.get_window_stats(three, "CQUJ1")
    assert (reset, remaining) == (1_060.0, 0)
    clock.now = 1_059.9
    assert not limiter.test(three, "CQUJ1")
    clock.now = 1_060.0
    assert limiter.test(three, "CQUJ1") and limiter.get_window_stats(three, "CQUJ1").remaining == 3
    assert limiter.hit(three, "CQUJ1")
    assert limiter.get_window_stats(three, "CQUJ1") == (1_120.0, 2)


def test_windows_of_devices_that_stopped_calling_are_swept_during_a_later_hit(clock):
    counters = DeviceCounters()
    counters.incr("gone", 60)
    counters.incr("still", 600)
    clock.now += device_limits.SWEEP_EVERY_S + 1
    counters.incr("new", 60)
    assert sorted(counters._windows) == ["new", "still"]
    assert counters.reset() == 2 and counters.get("still") == 0


def test_a_hit_starts_no_thread(monkeypatch):
    counters = DeviceCounters()
    monkeypatch.setattr(threading, "Timer", None)  # limits' memory storage starts one after nearly every hit
    monkeypatch.setattr(threading.Thread, "start", lambda self: pytest.fail("a thread was started"))
    assert [counters.incr("CQUJ1", 60) for _ in range(3)] == [1, 2, 3]


def test_a_device_limit_stops_at_the_first_limit_a_serial_is_over(clock):
    limit = DeviceLimit("300 per hour; 2 per minute")  # hit smallest window first, whatever the order written
    hits = [limit.hit("device:CQUJ1") for _ in range(3)]
    assert [h.breached for h in hits] == [False, False, True] and str(hits[2].limit) == "2 per 1 minute"
    assert not limit.hit("device:CQUJ2").breached  # another serial has its own windows
    clock.now += 60
    assert not limit.hit("device:CQUJ1").breached  # a new minute; the hour counted the two that passed
    assert limit._counting.get_window_stats(limit.limits[1], "device:CQUJ1").remaining == 297


def test_a_device_limit_tells_the_device_where_it_stands(clock):
    limit = DeviceLimit("2 per minute")
    hit = limit.hit("device:CQUJ1")
    assert limit.headers(hit) == {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1",
                                  "X-RateLimit-Reset": "1061", "Retry-After": "61"}
    clock.now = 1_030.0
    assert limit.headers(limit.hit("device:CQUJ1"))["Retry-After"] == "31"
    assert limit.headers(limit.hit("device:CQUJ1"), "300")["Retry-After"] == "300"  # a longer wait asked for stays
