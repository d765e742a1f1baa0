"""The device endpoints' rate limit (`DeviceLimit`, built by `create_app`, checked by `attendance.http`) and its
counters: one fixed window per device serial, in this process's memory, as `limits`' own `memory://` storage keeps
them, without its timer thread.

`limits`' memory storage starts a new `threading.Timer` after nearly every hit, to expire old counters: in the
10,000 punches/s burst that was about a quarter of the web's Python (a thread started for each upload). Here a
counter expires when it is read after its window, and those of devices that stopped calling are swept at most
once a minute, during a hit.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

SWEEP_EVERY_S = 60.0


class DeviceCounters(Storage):
    """A `limits` storage for the fixed-window strategy: `incr`, `get`, `get_expiry`."""

    STORAGE_SCHEME = None  # not named by a URI: `DeviceLimit` makes its own

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool):
        self._windows: dict[str, list] = {}  # key -> [hits, when the window ends (time.time())]
        self._lock = threading.Lock()
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Count `amount` hits in the key's window, a new window of `expiry` seconds if the last one is over."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._windows = {k: window for k, window in self._windows.items() if window[1] > now}
                self._next_sweep = now + SWEEP_EVERY_S
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return window[0]

    def get(self, key: str) -> int:
        window = self._windows.get(key)
        return window[0] if window is not None and window[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        return window[1] if window is not None and window[1] > time.time() else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._windows)
            self._windows = {}
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


@dataclass(frozen=True)
class DeviceHit:
    """A device request counted against `limit`: `breached` when it is one too many."""

    limit: RateLimitItem
    key: str
    breached: bool


class DeviceLimit:
    """ATTENDANCE_DEVICE_RATE_LIMIT (one limit or several, `'10 per second; 300 per minute'`), counted per key in
    this process, as Flask-Limiter counted it before: the limits are hit smallest window first, and a request
    stops at the first limit it is over. The check is a handful of dictionary operations, where Flask-Limiter's
    generic one (resolving which of its limits apply to each request) cost about 8 % of an upload's Python."""

    def __init__(self, rate: str):
        self.limits = sorted(parse_many(rate))
        self._counting = FixedWindowRateLimiter(DeviceCounters())

    def hit(self, key: str) -> DeviceHit:
        """Count one request of `key` against each limit in turn; the hit says which limit it was counted against
        last (the first one when none is breached)."""
        for limit in self.limits:
            if not self._counting.hit(limit, key):
                return DeviceHit(limit, key, True)
        return DeviceHit(self.limits[0], key, False)

    def headers(self, hit: DeviceHit, retry_after: str | None = None) -> dict[str, str]:
        """The headers telling the device where it stands: `X-RateLimit-Limit`, `-Remaining`, `-Reset` (Unix time),
        and `Retry-After` in seconds, until the window ends or later when the answer already asks for longer
        (`retry_after`, a pending device's wait)."""
        reset, remaining = self._counting.get_window_stats(hit.limit, hit.key)
        reset_at = int(reset + 1)
        now = time.time()
        if retry_after is not None and retry_after.isdigit():
            reset_at = max(reset_at, int(now + int(retry_after)))
        return {"X-RateLimit-Limit": str(hit.limit.amount), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(int(reset + 1)), "Retry-After": str(int(reset_at - now))}
