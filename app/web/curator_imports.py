"""Imports started from the browser: the uploaded file waits between the dry run and the
import, and the import itself runs in a background thread whose progress the page polls.

The encoding step of a large file takes minutes (a few hundred rows per second on two
cores), longer than a page request may hold a connection; the thread uses its own sessions
and commits once, so the import stays atomic (or partial) exactly as through the API.
State is kept in the process: the page that started an import is served by the same process.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.db import WRITE_OPTION, get_engine, get_write_engine
from app.embeddings import Encoder
from app.imports.parsing import ImportFileError
from app.imports.service import ImportRejected, ImportReport, run_import
from app.privacy import audit

log = logging.getLogger("koopmatch.imports")

# an upload waits this long for its import after the dry run
UPLOAD_SECONDS = 30 * 60
# at most this many uploads and jobs are kept per process (the oldest go first)
MAX_KEPT = 20


@dataclass
class Upload:
    id: str
    owner_id: int
    filename: str | None
    content_type: str | None
    data: bytes
    valid_rows: int
    created: float = field(default_factory=time.monotonic)


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
    message: str | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total == 0 else min(self.done / self.total, 1.0)


SessionFactory = Callable[[], Session]


def _write_session() -> Session:
    return Session(bind=get_write_engine(), expire_on_commit=False)


def _read_session() -> Session:
    return Session(bind=get_engine().execution_options(**{WRITE_OPTION: False}))


class ImportJobs:
    """The uploads and import jobs of this process.

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
        self._uploads: dict[str, Upload] = {}
        self._jobs: dict[str, Job] = {}

    def keep_upload(
        self,
        *,
        owner_id: int,
        filename: str | None,
        content_type: str | None,
        data: bytes,
        valid_rows: int,
    ) -> Upload:
        upload = Upload(
            id=secrets.token_urlsafe(16),
            owner_id=owner_id,
            filename=filename,
            content_type=content_type,
            data=data,
            valid_rows=valid_rows,
        )
        with self._lock:
            now = time.monotonic()
            for key in [k for k, u in self._uploads.items() if now - u.created > UPLOAD_SECONDS]:
                del self._uploads[key]
            while len(self._uploads) >= MAX_KEPT:
                del self._uploads[next(iter(self._uploads))]
            self._uploads[upload.id] = upload
        return upload

    def upload(self, upload_id: str, owner_id: int) -> Upload | None:
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None or upload.owner_id != owner_id:
            return None
        if time.monotonic() - upload.created > UPLOAD_SECONDS:
            return None
        return upload

    def job(self, job_id: str, owner_id: int) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner_id == owner_id else None

    def start(self, upload: Upload, *, partial: bool, encoder: Encoder | None) -> Job:
        """Import an upload (it is used up); the job reports progress and the final report."""
        job = Job(
            id=secrets.token_urlsafe(16),
            owner_id=upload.owner_id,
            filename=upload.filename,
            partial=partial,
            total=upload.valid_rows,
        )
        with self._lock:
            self._uploads.pop(upload.id, None)
            while len(self._jobs) >= MAX_KEPT:
                del self._jobs[next(iter(self._jobs))]
            self._jobs[job.id] = job
        if self.background:
            threading.Thread(
                target=self._run, args=(job, upload, encoder), name=f"import-{job.id}", daemon=True
            ).start()
        else:
            self._run(job, upload, encoder)
        return job

    def _run(self, job: Job, upload: Upload, encoder: Encoder | None) -> None:
        def progress(rows: int) -> None:
            job.done += rows

        session = self._write_session()
        reader = self._read_session() if self._read_session is not None else None
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
                session.commit()
            job.report, job.state = report, "done"
        except ImportRejected as exc:
            session.rollback()
            job.report, job.state = exc.report, "rejected"
        except ImportFileError as exc:
            session.rollback()
            job.message, job.state = str(exc), "failed"
        except Exception as exc:  # the page must learn that the import ended
            session.rollback()
            log.exception("import %s failed", job.id, exc_info=exc)
            job.message, job.state = "internal error; nothing was written", "failed"
        finally:
            if reader is not None:
                reader.close()
            session.close()
        job.done = job.total
