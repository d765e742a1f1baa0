"""The counters behind the device endpoints' rate limit (`create_app`): one fixed window per device serial, in this
process's memory, as `limits`' own `memory://` storage keeps them, without its timer thread.

`limits`' memory storage starts a new `threading.Timer` after nearly every hit, to expire old counters: in the
10,000 punches/s burst that was about a quarter of the web's Python (a thread started for each upload). Here a
counter expires when it is read after its window, and those of devices that stopped calling are swept at most
once a minute, during a hit.
"""
from __future__ import annotations

import threading
import time

from limits.storage import Storage

SCHEME = "kinerja-device-memory"
SWEEP_EVERY_S = 60.0


class DeviceCounters(Storage):
    """A `limits` storage for the fixed-window strategy (Flask-Limiter's default): `incr`, `get`, `get_expiry`."""

    STORAGE_SCHEME = [SCHEME]

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
