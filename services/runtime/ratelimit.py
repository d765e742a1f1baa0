"""The platform's rate limit (`RateLimit`): one fixed window per key and limit, in this process's memory. Attendance
counts its device endpoints per serial, identity its public endpoints per client address; each app factory builds
its limit from its setting and its blueprint checks it before the request is handled.

`limits`' own `memory://` storage starts a new `threading.Timer` after nearly every hit, to expire old counters: in
the 10,000 punches/s burst that was about a quarter of the attendance web's Python (a thread started for each
upload). Here a counter expires when it is read after its window, and those of keys that stopped calling are swept at
most once a minute, during a hit. Flask-Limiter's generic check (which of its limits apply to each request, then its
headers from a second look-up) cost about 8 % of an upload's instructions more, for one limit of one blueprint.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many

SWEEP_EVERY_S = 60.0


class WindowCounters:
    """Fixed windows by key: the hits counted in each and when it ends (`time.time()`)."""

    def __init__(self):
        self._windows: dict[str, list] = {}  # key -> [hits, when the window ends]
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def hit(self, key: str, expiry: float) -> tuple[int, float]:
        """Count one hit in the key's window, a new window of `expiry` seconds if the last one is over; return the
        window's hits so far and its end."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._windows = {k: window for k, window in self._windows.items() if window[1] > now}
                self._next_sweep = now + SWEEP_EVERY_S
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += 1
            return window[0], window[1]


@dataclass(frozen=True)
class Hit:
    """A request counted against `limit` (its window ending at `ends`, `remaining` hits left in it):
    `breached` when it is one too many."""

    limit: RateLimitItem
    remaining: int
    ends: float
    breached: bool


class RateLimit:
    """A rate setting (one limit or several in `limits`' syntax, `'10 per second; 300 per minute'`:
    ATTENDANCE_DEVICE_RATE_LIMIT, IDENTITY_RATE_LIMIT), counted per key in this process, as Flask-Limiter counted it:
    the limits are hit smallest window first, and a request stops at the first limit it is over."""

    def __init__(self, rate: str):
        self.limits = sorted(parse_many(rate))
        self._counters = WindowCounters()

    def hit(self, key: str) -> Hit:
        """Count one request of `key` against each limit in turn; the hit tells the limit it was over, or the first
        one when it was over none."""
        first = None
        for limit in self.limits:
            hits, ends = self._counters.hit(limit.key_for(key), limit.get_expiry())
            hit = Hit(limit, max(0, limit.amount - hits), ends, hits > limit.amount)
            if hit.breached:
                return hit
            first = first or hit
        return first

    @staticmethod
    def headers(hit: Hit, retry_after: str | None = None) -> dict[str, str]:
        """The headers telling the caller where it stands: `X-RateLimit-Limit`, `-Remaining`, `-Reset` (Unix time),
        and `Retry-After` in seconds, until the window ends or later when the answer already asks for longer
        (`retry_after`: a pending device's wait)."""
        reset_at = int(hit.ends + 1)
        now = time.time()
        retry_at = max(reset_at, int(now + int(retry_after))) if retry_after and retry_after.isdigit() else reset_at
        return {"X-RateLimit-Limit": str(hit.limit.amount), "X-RateLimit-Remaining": str(hit.remaining),
                "X-RateLimit-Reset": str(reset_at), "Retry-After": str(int(retry_at - now))}


def hit_request(limit: RateLimit, key: str) -> Hit:
    """Count this request of `key` against `limit`, kept for `answer_headers` to tell the caller (Flask's `g`)."""
    from flask import g
    g.rate_hit = hit = limit.hit(key)
    return hit


def answer_headers(response):
    """A blueprint's `after_request`: where the caller stands against its limit (`RateLimit.headers`), on every
    answer to a request counted by `hit_request`."""
    from flask import g
    hit = g.get("rate_hit")
    if hit is not None:
        response.headers.update(RateLimit.headers(hit, response.headers.get("Retry-After")))
    return response
