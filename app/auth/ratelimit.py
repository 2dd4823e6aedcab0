"""Failed-login limiting per (e-mail, client IP), in memory.

The counters live in the process: behind several workers each keeps its own, so the effective
limit is workers x max_failures. That still stops online guessing at any useful rate; a shared
store (e.g. the database or Redis) would make it exact.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    """At most `max_failures` failed logins per key within `window` seconds.

    `retry_after(key)` is 0 while attempts are allowed, else the whole seconds until the oldest
    failure in the window expires.
    """

    def __init__(
        self, *, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, key: tuple[str, str]) -> int:
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            if len(self._failures) > 100_000:  # bound memory under a spray of addresses
                self._prune(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
