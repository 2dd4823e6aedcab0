"""Login limiting in memory: attempts are counted before the password is checked.

Two counters: per (e-mail, client address), so guessing one account's password stops after a
few tries, and per client address alone, so a spray of logins with random e-mails cannot tie
up the server's password hashing. An attempt takes its place in the window *before* the
password is verified and gives it back only when it succeeds: 30 parallel wrong guesses get
`max_failures` checks, not 30.

The counters live in the process: behind several workers each keeps its own, so the effective
limit is workers x max_failures. That still stops online guessing at any useful rate; a shared
store (e.g. the database or Redis) would make it exact.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from starlette.requests import HTTPConnection

Key = tuple[str, str]


class LoginLimiter:
    """At most `max_failures` unsuccessful logins per key within `window` seconds.

    `attempt(key)` reserves a place (0) or says how many whole seconds to wait; a reserved
    place counts as a failure until `succeeded(key)` gives it back.
    """

    def __init__(
        self, *, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[Key, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: Key, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _wait(self, times: deque[float], now: float) -> int:
        if len(times) < self.max_failures:
            return 0
        return max(1, math.ceil(times[0] + self.window - now))

    def retry_after(self, key: Key) -> int:
        with self._lock:
            now = self.clock()
            return self._wait(self._recent(key, now), now)

    def attempt(self, key: Key) -> int:
        """Reserve a place for one login (0), or the seconds to wait; check and count at once."""
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            wait = self._wait(times, now)
            if wait:
                return wait
            self._record(key, times, now)
            return 0

    def failed(self, key: Key) -> None:
        """Count one failure (for callers that did not reserve with `attempt`)."""
        with self._lock:
            now = self.clock()
            self._record(key, self._recent(key, now), now)

    def _record(self, key: Key, times: deque[float], now: float) -> None:
        times.append(now)
        self._failures[key] = times
        if len(self._failures) > 100_000:  # bound memory under a spray of addresses
            self._prune(now)

    def succeeded(self, key: Key) -> None:
        """A successful login clears the key's record."""
        with self._lock:
            self._failures.pop(key, None)

    def release(self, key: Key) -> None:
        """Give back the newest reserved place (a success that must not clear the others)."""
        with self._lock:
            times = self._failures.get(key)
            if times:
                times.pop()
                if not times:
                    del self._failures[key]

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)


def _networks(
    entries: Iterable[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _trusted(
    address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(connection: HTTPConnection, trusted_proxies: Sequence[str]) -> str:
    """The client's address: the peer's, unless the peer is a configured proxy; then the
    right-most X-Forwarded-For entry that is not a trusted proxy (what a client can prepend
    to the header is never believed)."""
    peer = connection.client.host if connection.client else ""
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [
        part.strip()
        for header in connection.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    for address in reversed(forwarded):
        if not _trusted(address, networks):
            return address
    return forwarded[0] if forwarded else peer
