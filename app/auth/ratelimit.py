"""Login limiting in the database: attempts are counted before the password is checked.

Two counters: per (e-mail, client address), so guessing one account's password stops after a
few tries, and per client address alone, so a spray of logins with random e-mails cannot tie
up the server's password hashing. An attempt takes its place in the window *before* the
password is verified and gives it back only when it succeeds: 30 parallel wrong guesses get
`max_failures` checks, not 30.

The counters are rows of `login_attempts`, so every server process (and every host on one
PostgreSQL) counts against the same limit. Taking a place is one statement, an upsert that
increments the counter only while it is below the limit (`INSERT ... ON CONFLICT DO UPDATE
... WHERE ... RETURNING`): PostgreSQL locks the row for it, SQLite has one writer at a time,
so two processes never both read 4 and both write 5. Each call stores its change at once
(it commits the session it is given), because the count must hold whatever the request does
next, an answer of 401 that rolls the request back included.

A window begins with the first failure after the previous window ended and lasts `window`
seconds (a fixed window, as most rate limiters use): at most `max_failures` unsuccessful
logins in it, then 429 until it ends. Rows of ended windows are deleted by `expire`, which the
housekeeping runs (`app.housekeeping`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from sqlalchemy import ColumnElement, Insert, Table, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from app.models.base import UTCDateTime
from app.models.login_attempt import LoginAttempt

Key = tuple[str, str]

_TABLE = cast(Table, LoginAttempt.__table__)


def _hash(key: Key) -> str:
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _insert(session: Session) -> Callable[..., Insert]:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"login limits need an upsert; {name} has none here")


class LoginLimiter:
    """At most `max_failures` unsuccessful logins per key of `scope` within a `window` of
    seconds that begins with the first failure.

    `attempt(session, key)` reserves a place (0) or says how many whole seconds to wait; a
    reserved place counts as a failure until `succeeded` or `release` gives it back. `clock`
    gives seconds since the epoch (every process must share it: the wall clock).
    """

    def __init__(
        self,
        *,
        scope: str,
        max_failures: int,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scope = scope
        self.max_failures = max_failures
        self.window = window
        self.clock = clock

    def _where(self, key: Key) -> tuple[ColumnElement[bool], ...]:
        return (_TABLE.c.scope == self.scope, _TABLE.c.key_hash == _hash(key))

    def _wait(self, session: Session, key: Key, now: float) -> int:
        started = session.scalar(select(_TABLE.c.window_started_at).where(*self._where(key)))
        if started is None:
            return 0
        return max(0, math.ceil(started.timestamp() + self.window - now))

    def retry_after(self, session: Session, key: Key) -> int:
        """Seconds until the key may try again (0: now)."""
        now = self.clock()
        count = session.scalar(
            select(_TABLE.c.failures).where(
                *self._where(key), _TABLE.c.window_started_at > _at(now - self.window)
            )
        )
        if count is None or count < self.max_failures:
            return 0
        return max(1, self._wait(session, key, now))

    def attempt(self, session: Session, key: Key) -> int:
        """Reserve a place for one login (0), or the seconds to wait; check and count in one
        statement, stored at once."""
        now = self.clock()
        started = literal(_at(now), UTCDateTime())
        ended = _TABLE.c.window_started_at <= _at(now - self.window)
        statement = (
            _insert(session)(_TABLE)
            .values(scope=self.scope, key_hash=_hash(key), failures=1, window_started_at=_at(now))
            .on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[_TABLE.c.scope, _TABLE.c.key_hash],
                set_={
                    "failures": case((ended, 1), else_=_TABLE.c.failures + 1),
                    "window_started_at": case((ended, started), else_=_TABLE.c.window_started_at),
                },
                # at the limit the row is left alone and nothing is returned: refused
                where=or_(ended, _TABLE.c.failures < self.max_failures),
            )
            .returning(_TABLE.c.failures)
        )
        granted = session.execute(statement).first() is not None
        wait = 0 if granted else max(1, self._wait(session, key, now))
        session.commit()
        return wait

    def succeeded(self, session: Session, key: Key) -> None:
        """A successful login clears the key's record (stored at once)."""
        session.execute(delete(_TABLE).where(*self._where(key)))
        session.commit()

    def release(self, session: Session, key: Key) -> None:
        """Give back one reserved place, a success that must not clear the others (stored
        at once)."""
        session.execute(
            update(_TABLE)
            .where(*self._where(key), _TABLE.c.failures > 0)
            .values(failures=_TABLE.c.failures - 1)
        )
        session.commit()


def expire(session: Session, *, window: float, now: float | None = None) -> int:
    """Delete the counters whose window ended (the caller commits); returns how many."""
    cutoff = _at((time.time() if now is None else now) - window)
    result = session.execute(delete(_TABLE).where(_TABLE.c.window_started_at <= cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


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
