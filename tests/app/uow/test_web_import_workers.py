"""An import started from the hub staff's pages, served by two server processes on one
database: the dry run on one, the import started on the other, its progress and report
read back on the first. And a job whose process ended reads as interrupted."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization
from app.models.user import Role, User
from app.models.web_import import WebImport
from app.web.curator_imports import INTERRUPTED, LOST_AFTER, RUNNER, ImportJobs
from app.web.session import SESSION_COOKIE
from tests.app.uow.conftest import Live
from tests.app.uow.live import LiveServer, make_token

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
CSV = (
    b"external_id,name,country,employees,core\n"
    b"TWO-WORKERS-1,Zweiprozess Eins GmbH,DE,12,Laserschneiden\n"
    b"TWO-WORKERS-2,Zweiprozess Zwei GmbH,DE,40,Kantenbiegen\n"
)


@pytest.fixture(scope="module")
def second(live: Live) -> Iterator[LiveServer]:
    """Another server process on the same database."""
    server = LiveServer(live.server.database_url).start()
    try:
        yield server
    finally:
        server.stop()


def _browser(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        cookies={SESSION_COOKIE: token},
        timeout=60.0,
        follow_redirects=False,
    )


def _csrf(http: httpx.Client) -> str:
    found = CSRF.search(http.get("/curator/import").text)
    assert found is not None
    return found.group(1)


def test_dry_run_on_one_process_import_on_another(live: Live, second: LiveServer) -> None:
    token = make_token(live.engine, Role.curator)
    with _browser(live.server, token) as one, _browser(second, token) as two:
        checked = one.post(
            "/curator/import",
            data={"csrf_token": _csrf(one)},
            files={"file": ("firms.csv", CSV, "text/csv")},
        )
        assert checked.status_code == 200
        upload = re.search(r'action="/curator/import/([\w-]+)/run"', checked.text)
        assert upload is not None
        started = two.post(
            f"/curator/import/{upload.group(1)}/run",
            data={"csrf_token": _csrf(two), "mode": "atomic"},
        )
        assert started.status_code == 303
        job_path = started.headers["location"]
        deadline = time.monotonic() + 60
        page = one.get(job_path)
        while "Import finished." not in page.text and time.monotonic() < deadline:
            assert page.status_code == 200
            assert "failed" not in page.text
            time.sleep(0.2)
            page = one.get(job_path)
        assert "Import finished." in page.text
        assert "<dt>Created</dt><dd>2</dd>" in page.text
        # used up, on either process
        for http in (one, two):
            again = http.post(
                f"/curator/import/{upload.group(1)}/run",
                data={"csrf_token": _csrf(http), "mode": "atomic"},
            )
            assert again.status_code == 404
    with Session(live.engine) as session:
        names = session.scalars(
            select(Organization.name)
            .where(Organization.external_id.like("TWO-WORKERS-%"))
            .order_by(Organization.external_id)
        ).all()
        row = session.scalars(select(WebImport).where(WebImport.id == upload.group(1))).one()
    assert names == ["Zweiprozess Eins GmbH", "Zweiprozess Zwei GmbH"]
    assert (row.state, row.done, row.data) == ("done", 2, None)


def _ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def test_a_job_whose_process_ended_reads_as_interrupted(live: Live) -> None:
    now = dt.datetime.now(dt.UTC)
    host = RUNNER.rpartition(":")[0]
    with Session(live.engine) as session, session.begin():
        owner = session.scalars(select(User.id).order_by(User.id)).first()
        assert owner is not None
        for key, runner, beat in (
            ("ended-here", f"{host}:{_ended_pid()}", now),
            ("alive-here", RUNNER, now - 2 * LOST_AFTER),
            ("quiet-elsewhere", "another-host:1234", now - 2 * LOST_AFTER),
            ("beating-elsewhere", "another-host:1234", now),
        ):
            session.merge(
                WebImport(
                    id=key,
                    owner_id=owner,
                    filename="firms.csv",
                    valid_rows=7,
                    state="running",
                    done=3,
                    runner=runner,
                    created_at=now - 3 * LOST_AFTER,
                    heartbeat_at=beat,
                )
            )
    jobs = ImportJobs(
        write_session=lambda: Session(live.engine, expire_on_commit=False),
        read_session=lambda: Session(live.engine),
    )
    seen = {}
    for key in ("ended-here", "alive-here", "quiet-elsewhere", "beating-elsewhere"):
        job = jobs.job(key, owner)
        assert job is not None
        seen[key] = (job.state, job.message, job.done)
    assert seen == {
        "ended-here": ("failed", INTERRUPTED, 3),
        "alive-here": ("running", None, 3),
        "quiet-elsewhere": ("failed", INTERRUPTED, 3),
        "beating-elsewhere": ("running", None, 3),
    }
    # nobody else follows it
    assert jobs.job("alive-here", owner + 1000) is None
