"""The device rate limit's counters: a fixed window per serial, expiring when read, without a thread per hit."""
import threading

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from attendance import device_limits
from attendance.device_limits import SCHEME, DeviceCounters


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


def test_the_attendance_app_names_this_storage_by_its_scheme():
    assert isinstance(storage_from_string(f"{SCHEME}://"), DeviceCounters)
