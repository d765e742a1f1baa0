"""The rate limit: a fixed window per key (here a device's serial), expiring when read, without a thread per hit."""
import threading

import pytest

from runtime import ratelimit
from runtime.ratelimit import RateLimit, WindowCounters


class Clock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit.time, "time", clock)
    return clock


def test_a_window_counts_its_hits_and_a_new_one_starts_once_it_is_over(clock):
    limit = RateLimit("3 per minute")
    assert [limit.hit("device:CQUJ1").breached for _ in range(4)] == [False, False, False, True]
    assert not limit.hit("device:CQUJ2").breached  # another serial has its own window
    clock.now = 1_059.9
    over = limit.hit("device:CQUJ1")
    assert over.breached and (over.remaining, over.ends) == (0, 1_060.0)
    clock.now = 1_060.0
    again = limit.hit("device:CQUJ1")
    assert not again.breached and (again.remaining, again.ends) == (2, 1_120.0)


def test_a_device_limit_stops_at_the_first_limit_a_serial_is_over(clock):
    limit = RateLimit("300 per hour; 2 per minute")  # hit smallest window first, whatever the order written
    hits = [limit.hit("device:CQUJ1") for _ in range(3)]
    assert [h.breached for h in hits] == [False, False, True] and str(hits[2].limit) == "2 per 1 minute"
    clock.now += 60
    hit = limit.hit("device:CQUJ1")  # a new minute; the hour counted only the two that passed
    assert not hit.breached and str(hit.limit) == "2 per 1 minute" and hit.remaining == 1
    assert limit._counters.hit(limit.limits[1].key_for("device:CQUJ1"), 3600)[0] == 4


def test_a_device_limit_tells_the_device_where_it_stands(clock):
    limit = RateLimit("2 per minute")
    assert limit.headers(limit.hit("device:CQUJ1")) == {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1",
                                                         "X-RateLimit-Reset": "1061", "Retry-After": "61"}
    clock.now = 1_030.0
    assert limit.headers(limit.hit("device:CQUJ1"))["Retry-After"] == "31"
    assert limit.headers(limit.hit("device:CQUJ1"), "300")["Retry-After"] == "300"  # a longer wait asked for stays


def test_windows_of_devices_that_stopped_calling_are_swept_during_a_later_hit(clock):
    counters = WindowCounters()
    counters.hit("gone", 60)
    counters.hit("still", 600)
    clock.now += ratelimit.SWEEP_EVERY_S + 1
    counters.hit("new", 60)
    assert sorted(counters._windows) == ["new", "still"]


def test_a_hit_starts_no_thread(monkeypatch):
    counters = WindowCounters()
    monkeypatch.setattr(threading, "Timer", None)  # limits' memory storage starts one after nearly every hit
    monkeypatch.setattr(threading.Thread, "start", lambda self: pytest.fail("a thread was started"))
    assert [counters.hit("CQUJ1", 60)[0] for _ in range(3)] == [1, 2, 3]
