"""Engine, sessions and the per-request unit of work.

A request's session commits when its endpoint function has returned and its answer is built,
but before the answer is sent (a dependency scoped to the function): a 2xx means stored, and a
commit that fails is an error answer, never a success.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app import unit_of_work
from app.config import get_settings
from app.session_hooks import audit, index_changes, outcome_changes

# every session of the process records its writes in the audit log
audit.install()
# and raises the matching index's change counter when it writes what the engine reads
index_changes.install()
# and the outcomes' change marker when it writes what the outcome features are read from
outcome_changes.install()

log = logging.getLogger("koopmatch")

# execution option of connections whose transactions write: SQLite begins them IMMEDIATE
WRITE_OPTION = "koopmatch_writes"
# session.info key: writes to run after the request's commit, each in its own transaction
AFTER_COMMIT = "koopmatch_after_commit"


def _in_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///") or ":memory:" in url or "mode=memory" in url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. SQLite: foreign keys on, WAL, a busy timeout, and transactions of
    writing connections begin IMMEDIATE (they take the write lock up front). The pool holds a
    connection for every request admitted at once (settings.max_sessions)."""
    settings = get_settings()
    if not _in_memory(url):
        kwargs.setdefault("pool_size", settings.max_sessions)
        kwargs.setdefault("max_overflow", settings.db_pool_overflow)
        kwargs.setdefault("pool_timeout", settings.lock_timeout_seconds)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.lock_timeout_seconds},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # let SQLAlchemy, not pysqlite, emit BEGIN, so SAVEPOINT and rollback behave
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # a deferred transaction that read first cannot wait for the write lock: in WAL
            # mode it fails at once with SQLITE_BUSY when another writer committed meanwhile
            writes = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    if url.startswith("postgresql"):
        # a row lock not had in time fails (55P03, answered 503) instead of waiting forever
        timeout_ms = int(settings.lock_timeout_seconds * 1000)
        kwargs.setdefault("connect_args", {"options": f"-c lock_timeout={timeout_ms}"})
    return create_engine(url, pool_pre_ping=True, **kwargs)


@cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@cache
def get_write_engine() -> Engine:
    """The same engine and pool; its connections' transactions take the write lock up front."""
    return get_engine().execution_options(**{WRITE_OPTION: True})


@cache
def get_sessionmaker(*, writes: bool = False) -> sessionmaker[Session]:
    """Sessions for work outside requests; `writes` makes SQLite take the write lock at BEGIN."""
    return sessionmaker(bind=get_write_engine() if writes else get_engine(), expire_on_commit=False)


@cache
def get_replica_engine() -> Engine | None:
    """The engine of `settings.read_replica_url`, None without one."""
    url = get_settings().read_replica_url
    return make_engine(url) if url else None


# session.info key: the session has written (flushed) something; it keeps reading the
# primary for the rest of its life, committed or not (a replica may not have it yet)
FLUSHED = "koopmatch_flushed"


@event.listens_for(Session, "after_flush")
def _remember_flush(session: Session, _context: Any) -> None:
    session.info[FLUSHED] = True


def reads_replica(session: Session) -> bool:
    """Whether `session`'s matching reads may go to the read replica: one is configured, the
    session is not a writing request's (bound with the write option) and has nothing
    written or pending in its transaction."""
    if get_replica_engine() is None:
        return False
    if session.info.get(FLUSHED) or session.new or session.dirty or session.deleted:
        return False
    bind = session.get_bind()
    return not bind.get_execution_options().get(WRITE_OPTION, False)


# --- the unit of work ---------------------------------------------------------------------------


def after_commit(session: Session, key: object, write: Callable[[Session], object]) -> None:
    """Run `write(session)` after the request's commit, in a transaction of its own.

    For bookkeeping that must not make a read a write (a token's last use): it does not hold
    the request's transaction open, and its failure does not undo or fail the request. One
    write per `key` and request.
    """
    session.info.setdefault(AFTER_COMMIT, {})[key] = write


def commit(session: Session) -> None:
    """Commit the request's transaction; a failure that is not a lost race or a busy database
    becomes NotStored (500), so it is never answered as a success."""
    try:
        session.commit()
    except IntegrityError:
        raise  # another request stored the same thing meanwhile: 409
    except DBAPIError as exc:
        if unit_of_work.lock_timed_out(exc) or unit_of_work.pg_retryable(exc):
            raise  # 503 / 409
        log.error("commit failed", exc_info=exc)
        raise unit_of_work.NotStored(
            "The change could not be stored; nothing of it was written. Try again later."
        ) from exc


def run_after_commit(session: Session) -> None:
    """The writes registered with `after_commit`, each in its own short write transaction."""
    pending: dict[object, Callable[[Session], object]] = session.info.pop(AFTER_COMMIT, {})
    for key, write in pending.items():
        try:
            session.connection(execution_options={WRITE_OPTION: True})
            write(session)
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            log.warning("deferred write %r not stored: %s", key, exc)


def finish(session: Session) -> None:
    """Commit, then the deferred writes (the whole end of a unit of work, for one thread)."""
    commit(session)
    run_after_commit(session)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, admitted under the database's concurrency limits.

    It commits once, after the endpoint function and before the response is sent (use it
    through `SessionDep`, which scopes it to the function), and rolls back on any error.
    """
    writes = unit_of_work.request_writes(request.method, request.url.path)
    sqlite = get_engine().dialect.name == "sqlite"
    async with unit_of_work.admitted(exclusive_writer=writes and sqlite):
        session = get_sessionmaker(writes=True)() if writes else get_sessionmaker()()
        # writes of callers without a token (login) are still API writes in the audit log
        session.info[audit.REQUEST_INFO] = f"{request.method} {request.url.path}"
        try:
            yield session
            await run_in_threadpool(commit, session)
            if session.info.get(AFTER_COMMIT):
                if writes or not sqlite:
                    await run_in_threadpool(run_after_commit, session)
                else:
                    # a read takes the write lock only if nobody waits for it; else the
                    # bookkeeping waits for the next request
                    async with unit_of_work.writer_lock_if_free() as free:
                        if free:
                            await run_in_threadpool(run_after_commit, session)
        except BaseException:
            await run_in_threadpool(session.rollback)
            raise
        finally:
            await run_in_threadpool(session.close)


# the request's session; the unit of work ends before the response is sent
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
