"""A lock held too long by someone else is a 503 with Retry-After, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from app.db import WRITE_OPTION
from app.models import Organization
from tests.app.uow.conftest import Live
from tests.app.uow.live import API, LiveServer, client, org_body


@pytest.fixture(scope="module")
def impatient(live: Live) -> Iterator[Live]:
    """A second server on the same database that waits one second for a lock."""
    server = LiveServer(live.server.database_url, env={"KOOPMATCH_LOCK_TIMEOUT_SECONDS": "1"})
    server.start()
    try:
        yield Live(server, live.engine, live.token, live.backend)
    finally:
        server.stop()


def _hold_lock(live: Live, org_id: int) -> Connection:
    """Another writer: SQLite's one write lock, or the organisation's row (PostgreSQL)."""
    if live.backend == "sqlite":
        conn = live.engine.execution_options(**{WRITE_OPTION: True}).connect()
        conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is held
    else:
        conn = live.engine.connect()
        conn.execute(text("SELECT id FROM organizations WHERE id = :id FOR UPDATE"), {"id": org_id})
    return conn


def test_a_lock_not_had_in_time_is_a_503_with_retry_after(impatient: Live) -> None:
    with client(impatient.server, impatient.token) as http:
        created = http.post(API, json=org_body(f"BUSY-{impatient.backend}"))
        assert created.status_code == 201, created.text
        org_id = created.json()["id"]
        conn = _hold_lock(impatient, org_id)
        try:
            busy = http.patch(f"{API}/{org_id}", json={"version": 1, "employees": 3})
            # reads go on meanwhile
            assert http.get(f"{API}/{org_id}").status_code == 200
        finally:
            conn.rollback()
            conn.close()
        assert busy.status_code == 503
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["title"] == "Service busy"
        retried = http.patch(f"{API}/{org_id}", json={"version": 1, "employees": 3})
        assert retried.status_code == 200, retried.text
    with Session(impatient.engine) as session:
        assert (
            session.scalar(
                select(func.count()).where(Organization.id == org_id, Organization.employees == 3)
            )
            == 1
        )
