"""How requests share the database: admission, the SQLite writer lock, and database errors.

Every request that uses the database holds one of a bounded number of session slots (the
connection pool is sized to match), so requests queue on the event loop for a connection instead
of failing with "QueuePool limit reached", and never hold a worker thread while they wait. On
SQLite, which has one writer at a time, a request that writes instead takes the process's writer
lock (fair, first come first served) and then `BEGIN IMMEDIATE`, so a transaction never has to
upgrade a read snapshot to a write lock (that fails at once with SQLITE_BUSY in WAL mode). A
lock that cannot be had in time is a 503 with Retry-After, not a 500.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from app.config import Settings, get_settings

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger("koopmatch")

# HTTP methods whose requests only read; every other request may write
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POST routes that only read (a search body is too long for a query string)
READ_ONLY_POSTS = frozenset({"/api/v1/matches/search"})

# PostgreSQL SQLSTATEs of a transaction that lost a race and may simply be tried again (409)
_PG_RETRYABLE = {
    "40001": "serialization failure",
    "40P01": "deadlock",
}
# ... and of a lock not had within lock_timeout (503)
_PG_LOCK_TIMEOUT = "55P03"


class DatabaseUnavailable(Exception):
    """The database cannot take this request now (lock or connection not had in time): 503."""

    status = 503
    title = "Service busy"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after if retry_after is not None else _retry_after()


class NotStored(Exception):
    """The commit failed: nothing of the request was stored (500)."""

    status = 500
    title = "Not stored"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _retry_after(settings: Settings | None = None) -> int:
    return max(1, math.ceil((settings or get_settings()).retry_after_seconds))


def request_writes(method: str, path: str) -> bool:
    """Whether a request may write (decides the SQLite lock it takes up front)."""
    return method.upper() not in READ_METHODS and path not in READ_ONLY_POSTS


# --- admission ---------------------------------------------------------------------------------


@dataclass
class Gate:
    """Session slots and the writer lock of one event loop."""

    slots: asyncio.Semaphore
    writer: asyncio.Lock


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Gate] = weakref.WeakKeyDictionary()


def _gate() -> Gate:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = Gate(asyncio.Semaphore(get_settings().max_sessions), asyncio.Lock())
        _gates[loop] = gate
    return gate


async def _acquire(lock: asyncio.Semaphore | asyncio.Lock, timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            await lock.acquire()
    except TimeoutError:
        raise DatabaseUnavailable(
            f"The database is busy: no {what} within {timeout:g} s. Nothing was stored; "
            "try again shortly."
        ) from None


@asynccontextmanager
async def admitted(*, exclusive_writer: bool) -> AsyncIterator[None]:
    """Hold a session slot, or the writer lock when asked, for the block; 503 after the
    configured wait.

    The one writer of SQLite does not take a slot: the writer lock is its slot. Slow reads
    (a match that refits the index) holding every slot must not keep the writer, and with it
    every queued write, waiting.
    """
    gate = _gate()
    timeout = get_settings().lock_timeout_seconds
    lock, what = (gate.writer, "write lock") if exclusive_writer else (gate.slots, "connection")
    await _acquire(lock, timeout, what)
    try:
        yield
    finally:
        lock.release()


@asynccontextmanager
async def writer_lock_if_free() -> AsyncIterator[bool]:
    """The writer lock if nobody holds it (True), else nothing (False): for writes that can wait."""
    gate = _gate()
    if gate.writer.locked():
        yield False
        return
    await gate.writer.acquire()
    try:
        yield True
    finally:
        gate.writer.release()


# --- database errors -> problem+json -------------------------------------------------------------


def _sqlstate(exc: BaseException) -> str | None:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return sqlstate if isinstance(sqlstate, str) else None


def lock_timed_out(exc: BaseException) -> bool:
    """The lock was not had in time: SQLite's "database is locked" (SQLITE_BUSY) or
    PostgreSQL's lock_timeout."""
    if _sqlstate(exc) == _PG_LOCK_TIMEOUT:
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text


def pg_retryable(exc: BaseException) -> str | None:
    """The kind of PostgreSQL race (serialisation failure, deadlock, lock), or None."""
    sqlstate = _sqlstate(exc)
    return _PG_RETRYABLE.get(sqlstate) if sqlstate is not None else None


def _problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _busy_response(detail: str, retry_after: int) -> JSONResponse:
    return _problem(503, DatabaseUnavailable.title, detail, {"Retry-After": str(retry_after)})


def _conflict(detail: str) -> JSONResponse:
    return _problem(409, "Conflict", detail)


def register_error_handlers(app: FastAPI) -> None:
    """Answers for a database that is busy or a transaction that lost a race."""

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(_request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return _busy_response(exc.detail, exc.retry_after)

    @app.exception_handler(NotStored)
    async def _not_stored(_request: Request, exc: NotStored) -> JSONResponse:
        return _problem(exc.status, exc.title, exc.detail)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(_request: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no database connection in time: %s", exc)
        return _busy_response(
            "The database is busy: no connection was free in time. Nothing was stored; "
            "try again shortly.",
            _retry_after(),
        )

    @app.exception_handler(StaleDataError)
    async def _stale(_request: Request, exc: StaleDataError) -> JSONResponse:
        log.warning("row changed by another request: %s", exc)
        return _conflict(
            "The data was changed by another request meanwhile; nothing was stored. "
            "Read it again and reapply your change."
        )

    @app.exception_handler(OperationalError)
    async def _operational(_request: Request, exc: OperationalError) -> JSONResponse:
        return database_error_response(exc)


def database_error_response(exc: DBAPIError) -> JSONResponse:
    """503 for a lock not had in time, 409 for a lost race, 500 for anything else."""
    if lock_timed_out(exc):
        log.warning("database lock not had in time: %s", exc.orig)
        return _busy_response(
            "The database is busy: a lock this change needs was not free in time. Nothing was stored; "
            "try again shortly.",
            _retry_after(),
        )
    race = pg_retryable(exc)
    if race is not None:
        log.warning("transaction lost a race (%s): %s", race, exc.orig)
        return _conflict(
            f"The change collided with another request ({race}); nothing was stored. Try again."
        )
    log.error("database error", exc_info=exc)
    return _problem(500, "Internal error", "A database error occurred; it has been logged.")
