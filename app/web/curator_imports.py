"""Imports started from the browser: the uploaded file waits between the dry run and the
import, and the import itself runs in a background thread whose progress the page polls.

The encoding step of a large file takes minutes (a few hundred rows per second on two
cores), longer than a page request may hold a connection; the thread uses its own sessions
and commits once, so the import stays atomic (or partial) exactly as through the API.

Uploads and jobs are rows of `web_imports`, so any server process serves the next page (the
dry run on one worker, the import started on a second, its progress polled on a third). The
process that imports keeps the live count of prepared rows in memory and, on PostgreSQL, writes
it to the row about once a second with a heartbeat (on SQLite a second connection would wait
for the import's write lock, so other processes show the count of the finished import only).
A job whose process ended (a restart, a crash) reads as interrupted: its runner's process is
gone on this host, or its heartbeat is older than `LOST_AFTER`. The final state is written in
the import's own transaction: an import reads as done exactly when its rows are committed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import WRITE_OPTION, finish, get_engine, get_write_engine
from app.embeddings import Encoder
from app.i18n import N_, Message
from app.imports.parsing import ImportFileError, RowError
from app.imports.service import ImportRejected, ImportReport, run_import
from app.models.base import utcnow
from app.models.web_import import WebImport
from app.session_hooks import audit

log = logging.getLogger("koopmatch.imports")

# an upload waits this long for its import after the dry run
UPLOAD_SECONDS = 30 * 60
# at most this many uploads and jobs are kept per account (the oldest go first)
MAX_KEPT = 20
# a running import whose process has not said it is alive for this long was lost with it
LOST_AFTER = dt.timedelta(minutes=5)
# how often the importing process writes its progress and heartbeat (PostgreSQL)
HEARTBEAT_SECONDS = 1.0
# this process, as it signs the imports it runs
RUNNER = f"{socket.gethostname()}:{os.getpid()}"
INTERRUPTED = Message(N_("the server stopped before the import finished"))


@dataclass
class Upload:
    id: str
    owner_id: int
    filename: str | None
    content_type: str | None
    data: bytes
    valid_rows: int


@dataclass
class Job:
    id: str
    owner_id: int
    filename: str | None
    partial: bool
    total: int
    done: int = 0
    state: str = "running"  # running | done | rejected | failed
    report: ImportReport | None = None
    # why it failed: a message, or the text of a job stored before messages were kept
    message: Message | str | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total == 0 else min(self.done / self.total, 1.0)


SessionFactory = Callable[[], Session]


def expire_uploads(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete the uploads nobody imported within `UPLOAD_SECONDS` (the caller commits); the
    housekeeping runs it too, so a file does not wait for the next upload to go."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=UPLOAD_SECONDS)
    result = session.execute(
        delete(WebImport).where(WebImport.state == "uploaded", WebImport.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _write_session() -> Session:
    return Session(bind=get_write_engine(), expire_on_commit=False)


def _read_session() -> Session:
    return Session(bind=get_engine().execution_options(**{WRITE_OPTION: False}))


def _report_row(report: ImportReport) -> dict[str, Any]:
    # warnings as template and values, so whoever opens the page later reads them in their
    # language
    return {**dataclasses.asdict(report), "warnings": [w.dump() for w in report.warnings]}


def _report(row: dict[str, Any] | None) -> ImportReport | None:
    if row is None:
        return None
    errors = [RowError(**e) for e in row.get("errors", [])]
    # a report stored before its warnings kept their templates has their English text
    warnings = [
        Message.load(w) if isinstance(w, dict) else Message(str(w)) for w in row.get("warnings", [])
    ]
    return ImportReport(**{**row, "errors": errors, "warnings": warnings})


def _runner_alive(runner: str | None) -> bool | None:
    """Whether the process that signed `runner` still runs: None when it ran on another host
    (only its heartbeat can tell then)."""
    if runner is None:
        return False
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process of that number: not ours any more
        return False
    return True


def lost(row: WebImport, now: dt.datetime | None = None) -> bool:
    """Whether a running import's process ended before the import did."""
    if row.state != "running":
        return False
    alive = _runner_alive(row.runner)
    if alive is not None:
        return not alive
    beat = row.heartbeat_at or row.created_at
    return (now or utcnow()) - beat > LOST_AFTER


class ImportJobs:
    """The uploads and import jobs of every process, as rows of `web_imports`.

    `background=False` runs an import in the calling thread (tests on one connection).
    """

    def __init__(
        self,
        *,
        background: bool = True,
        write_session: SessionFactory = _write_session,
        read_session: SessionFactory | None = _read_session,
    ) -> None:
        self.background = background
        self._write_session = write_session
        self._read_session = read_session
        self._lock = threading.Lock()
        # the jobs this process runs: their live progress
        self._running: dict[str, Job] = {}

    def _reader(self) -> Session:
        return (self._read_session or self._write_session)()

    def keep_upload(
        self,
        session: Session,
        *,
        owner_id: int,
        filename: str | None,
        content_type: str | None,
        data: bytes,
        valid_rows: int,
    ) -> Upload:
        """Keep a checked file for its import, in the request's `session` (its commit stores it);
        uploads nobody imported in time, and the account's oldest beyond `MAX_KEPT`, go."""
        upload = Upload(
            id=secrets.token_urlsafe(16),
            owner_id=owner_id,
            filename=filename,
            content_type=content_type,
            data=data,
            valid_rows=valid_rows,
        )
        now = utcnow()
        expire_uploads(session, now=now)
        kept = session.scalars(
            select(WebImport.id)
            .where(WebImport.owner_id == owner_id, WebImport.state != "running")
            .order_by(WebImport.created_at.desc(), WebImport.id)
            .offset(MAX_KEPT - 1)
        ).all()
        if kept:
            session.execute(delete(WebImport).where(WebImport.id.in_(kept)))
        session.add(
            WebImport(
                id=upload.id,
                owner_id=owner_id,
                filename=filename,
                content_type=content_type,
                data=data,
                valid_rows=valid_rows,
                state="uploaded",
                done=0,
                created_at=now,
            )
        )
        session.flush()
        return upload

    def job(self, job_id: str, owner_id: int) -> Job | None:
        with self._lock:
            live = self._running.get(job_id)
        if live is not None:
            return live if live.owner_id == owner_id else None
        session = self._reader()
        try:
            row = session.get(WebImport, job_id, populate_existing=True)
            if row is None or row.owner_id != owner_id or row.state == "uploaded":
                return None
            job = Job(
                id=row.id,
                owner_id=row.owner_id,
                filename=row.filename,
                partial=bool(row.partial),
                total=row.valid_rows,
                done=row.done,
                state=row.state,
                report=_report(row.report),
                message=(
                    Message.load(row.failure_message)
                    if row.failure_message is not None
                    else row.message
                ),
            )
            if lost(row):
                job.state, job.message = "failed", INTERRUPTED
            return job
        finally:
            session.close()

    def start(
        self,
        session: Session,
        upload_id: str,
        owner_id: int,
        *,
        partial: bool,
        encoder: Encoder | None,
    ) -> Job | None:
        """Import an upload (it is used up: a second start of it, by any process, gets None);
        the job reports progress and the final report. The claim is committed in the request's
        `session` before the import begins (the import runs on sessions of its own)."""
        claimed = (
            session.connection()
            .execute(
                update(WebImport)
                .where(
                    WebImport.id == upload_id,
                    WebImport.owner_id == owner_id,
                    WebImport.state == "uploaded",
                    WebImport.created_at > utcnow() - dt.timedelta(seconds=UPLOAD_SECONDS),
                )
                .values(state="running", partial=partial, runner=RUNNER, heartbeat_at=utcnow())
            )
            .rowcount
        )
        row = session.get(WebImport, upload_id, populate_existing=True) if claimed == 1 else None
        upload = (
            None
            if row is None
            else Upload(
                id=row.id,
                owner_id=row.owner_id,
                filename=row.filename,
                content_type=row.content_type,
                data=row.data or b"",
                valid_rows=row.valid_rows,
            )
        )
        finish(session)
        if upload is None:
            return None
        job = Job(
            id=upload.id,
            owner_id=upload.owner_id,
            filename=upload.filename,
            partial=partial,
            total=upload.valid_rows,
        )
        with self._lock:
            self._running[job.id] = job
        if self.background:
            threading.Thread(
                target=self._run, args=(job, upload, encoder), name=f"import-{job.id}", daemon=True
            ).start()
        else:
            self._run(job, upload, encoder)
        return job

    def _beat(self, job: Job) -> None:
        """The job's progress and this process's heartbeat on its row (PostgreSQL only)."""
        session = self._write_session()
        try:
            if session.get_bind().dialect.name != "postgresql":
                return
            session.execute(
                update(WebImport)
                .where(WebImport.id == job.id, WebImport.state == "running")
                .values(done=job.done, heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.commit()
        except Exception as exc:  # progress is a courtesy: the import goes on
            session.rollback()
            log.warning("progress of import %s not stored: %s", job.id, exc)
        finally:
            session.close()

    def _finish(self, session: Session, job: Job) -> None:
        """Store the job's end on its row, in `session`'s transaction (the caller commits)."""
        session.execute(
            update(WebImport)
            .where(WebImport.id == job.id)
            .values(
                state=job.state,
                done=job.total,
                data=None,
                report=_report_row(job.report) if job.report is not None else None,
                message=None if job.message is None else str(job.message),
                failure_message=(job.message.dump() if isinstance(job.message, Message) else None),
                heartbeat_at=utcnow(),
                finished_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )

    def _run(self, job: Job, upload: Upload, encoder: Encoder | None) -> None:
        last_beat = time.monotonic()

        def progress(rows: int) -> None:
            nonlocal last_beat
            job.done += rows
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                self._beat(job)

        session = self._write_session()
        reader = self._read_session() if self._read_session is not None else None
        ended = False  # the end is stored with the import's own commit
        try:
            with audit.acting("api", request="POST /curator/import", user_id=job.owner_id):
                report = run_import(
                    session,
                    data=upload.data,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    partial=job.partial,
                    encoder=encoder,
                    progress=progress,
                    reader=reader,
                )
                job.report, job.state, job.done = report, "done", job.total
                self._finish(session, job)
                session.commit()
            ended = True
        except ImportRejected as exc:
            session.rollback()
            job.report, job.state = exc.report, "rejected"
        except ImportFileError as exc:
            session.rollback()
            job.message, job.state = exc.message, "failed"
        except Exception as exc:  # the page must learn that the import ended
            session.rollback()
            log.exception("import %s failed", job.id, exc_info=exc)
            job.report = None
            job.message = Message(N_("internal error; nothing was written"))
            job.state = "failed"
        finally:
            if reader is not None:
                reader.close()
            session.close()
        job.done = job.total
        if not ended:
            self._store_end(job)
        with self._lock:
            self._running.pop(job.id, None)

    def _store_end(self, job: Job) -> None:
        session = self._write_session()
        try:
            self._finish(session, job)
            session.commit()
        except Exception as exc:
            session.rollback()
            log.exception("end of import %s not stored", job.id, exc_info=exc)
        finally:
            session.close()
