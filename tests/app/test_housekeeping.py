"""Uploads nobody imported and ended login counters are deleted by the housekeeping, at server
start and by `koopmatch housekeeping`, without waiting for the next upload."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import housekeeping
from app.auth.ratelimit import LoginLimiter
from app.config import ROOT
from app.models.base import utcnow
from app.models.login_attempt import LoginAttempt
from app.models.user import Role, User
from app.models.web_import import WebImport
from app.web.curator_imports import UPLOAD_SECONDS
from tests.app.conftest import AccountFactory
from tests.app.uow.live import LiveServer, prepare_database, server_env
from tests.conftest import BACKENDS, migrated_url

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _upload(upload_id: str, owner_id: int, created_at: dt.datetime, state: str) -> WebImport:
    return WebImport(
        id=upload_id,
        owner_id=owner_id,
        filename="firms.csv",
        content_type="text/csv",
        data=b"external_id,name\n" if state == "uploaded" else None,
        valid_rows=1,
        state=state,
        done=0,
        created_at=created_at,
    )


def test_a_sweep_deletes_what_expired_and_keeps_the_rest(
    db_session: Session, make_account: AccountFactory
) -> None:
    owner = make_account(Role.curator).user.id
    waited = dt.timedelta(seconds=UPLOAD_SECONDS)
    db_session.add_all(
        [
            _upload("stale", owner, NOW - waited - dt.timedelta(seconds=1), "uploaded"),
            _upload("fresh", owner, NOW - waited + dt.timedelta(seconds=1), "uploaded"),
            _upload("old-job", owner, NOW - 10 * waited, "done"),
        ]
    )
    db_session.commit()
    at = NOW.timestamp()
    for started, address in [(at - 61, "192.0.2.1"), (at - 59, "192.0.2.2")]:
        limiter = LoginLimiter(
            scope="address", max_failures=5, window=60, clock=lambda t=started: t
        )
        assert limiter.attempt(db_session, (address, "")) == 0

    swept = housekeeping.sweep(db_session, now=NOW)

    assert swept == housekeeping.Swept(uploads=1, login_counters=1)
    assert sorted(db_session.scalars(select(WebImport.id))) == ["fresh", "old-job"]
    assert db_session.scalar(select(LoginAttempt.window_started_at)) == dt.datetime.fromtimestamp(
        at - 59, dt.UTC
    )


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine, int]]:
    url = migrated_url(request.param, request, tmp_path_factory.mktemp(f"sweep-{request.param}"))
    engine = prepare_database(url)
    with Session(engine) as session, session.begin():
        user = User(email="curator@live.example", name="C", role="curator", is_active=True)
        session.add(user)
        session.flush()
        owner = user.id
    yield url, engine, owner
    engine.dispose()


def _ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(select(WebImport.id)))


def _stale(engine: Engine, owner: int, upload_id: str) -> None:
    with Session(engine) as session, session.begin():
        old = utcnow() - dt.timedelta(seconds=UPLOAD_SECONDS + 60)
        session.add(_upload(upload_id, owner, old, "uploaded"))


def test_a_server_start_and_the_command_delete_uploads_nobody_imported(
    database: tuple[str, Engine, int],
) -> None:
    url, engine, owner = database
    _stale(engine, owner, "left-before-start")
    with Session(engine) as session, session.begin():
        session.add(_upload("waiting", owner, utcnow(), "uploaded"))
    server = LiveServer(url, env={"KOOPMATCH_HOUSEKEEPING_MINUTES": "10"}).start()
    try:
        deadline = time.monotonic() + 30
        while _ids(engine) != ["waiting"] and time.monotonic() < deadline:
            time.sleep(0.1)
        # nobody uploaded anything: the start alone swept the stale file
        assert _ids(engine) == ["waiting"]
    finally:
        server.stop()
    _stale(engine, owner, "left-later")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "housekeeping"],
        env=server_env(url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "deleted 1 uploads nobody imported and 0 ended login counters\n"
    assert _ids(engine) == ["waiting"]
