"""Housekeeping: what nobody asks for any more is deleted without waiting for a request.

Uploads of the hub staff's import page that nobody imported within `UPLOAD_SECONDS` (they hold
the whole file) and login counters whose window ended. Every server process runs it once at
start-up and then every `settings.housekeeping_minutes` (10 by default) in a background task;
with 0 it never runs by itself and `koopmatch housekeeping` (e.g. from cron) does it. Running
it in several processes at once is harmless: each run deletes what has expired by then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth import ratelimit
from app.config import get_settings
from app.db import get_sessionmaker
from app.models.base import utcnow
from app.session_hooks import audit
from app.web.curator_imports import expire_uploads

log = logging.getLogger("koopmatch.housekeeping")


@dataclass(frozen=True)
class Swept:
    uploads: int
    login_counters: int


def sweep(session: Session, *, now: dt.datetime | None = None) -> Swept:
    """Delete what has expired at `now` (the caller commits)."""
    now = now or utcnow()
    return Swept(
        uploads=expire_uploads(session, now=now),
        login_counters=ratelimit.expire(
            session, window=get_settings().login_window_seconds, now=now.timestamp()
        ),
    )


def run() -> Swept:
    """One sweep in a transaction of its own, recorded in the audit log as the system's."""
    with audit.acting("system"), get_sessionmaker(writes=True).begin() as session:
        swept = sweep(session)
    if swept.uploads or swept.login_counters:
        log.info(
            "housekeeping: %d uploads nobody imported, %d ended login counters deleted",
            swept.uploads,
            swept.login_counters,
        )
    return swept


async def periodically(minutes: float) -> None:
    """`run` now and then every `minutes` until cancelled; a failed run is logged, not fatal."""
    while True:
        try:
            await run_in_threadpool(run)
        except SQLAlchemyError as exc:
            log.warning("housekeeping failed: %s", exc)
        await asyncio.sleep(minutes * 60)
