"""kill -9 of a real server or `koopmatch import`: an answered write survives, an unanswered
import is all there or not there at all, never half."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import ROOT
from app.models import Competence, KnownRelationship, Organization
from tests.app.uow.conftest import Live
from tests.app.uow.live import API, client, org_body, server_env

ROWS = 5_000


def _count(live: Live, prefix: str) -> int:
    with Session(live.engine) as session:
        return (
            session.scalar(select(func.count()).where(Organization.external_id.like(f"{prefix}%")))
            or 0
        )


def _orphans(live: Live) -> tuple[int, int]:
    """Competences and relationships whose organisation is not stored."""
    with Session(live.engine) as session:
        stored = select(Organization.id)
        competences = session.scalar(
            select(func.count())
            .select_from(Competence)
            .where(Competence.organization_id.not_in(stored))
        )
        relationships = session.scalar(
            select(func.count())
            .select_from(KnownRelationship)
            .where(KnownRelationship.organization_id.not_in(stored))
        )
    return competences or 0, relationships or 0


def test_answered_writes_survive_a_kill_at_once(live: Live) -> None:
    prefix = f"ANSWERED-{live.backend}-"
    ids = []
    with client(live.server, live.token) as http:
        for n in range(10):
            created = http.post(API, json=org_body(f"{prefix}{n}"))
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        patched = http.patch(f"{API}/{ids[0]}", json={"version": 1, "employees": 77})
        assert patched.status_code == 200
        rows = [org_body(f"{prefix}IMP-{n}") for n in range(60)]
        imported = http.post(f"{API}/import", json=rows)
        assert imported.status_code == 200, imported.text
        assert (imported.json()["created"], imported.json()["written"]) == (60, True)
        live.server.kill()  # the moment the last answer arrived
    live.server.start()
    assert _count(live, prefix) == 70
    with Session(live.engine) as session:
        assert session.scalar(select(Organization.employees).where(Organization.id == ids[0])) == 77
    with client(live.server, live.token) as http:
        assert http.get(f"{API}/{ids[-1]}").status_code == 200


def _import_file(path: Path, prefix: str) -> None:
    rows: list[dict[str, Any]] = []
    for n in range(ROWS):
        row = org_body(f"{prefix}{n}")
        if n:
            row["relationships"] = [{"type": "partner", "external_id": f"{prefix}{n - 1}"}]
        rows.append(row)
    path.write_text(json.dumps(rows))


def _writing_started(live: Live) -> Callable[[], bool]:
    """Whether the import has begun to write its rows (its transaction is open and large)."""
    if live.backend == "sqlite":
        wal = Path(str(live.engine.url.database) + "-wal")
        baseline = wal.stat().st_size if wal.exists() else 0

        def grown() -> bool:
            return wal.exists() and wal.stat().st_size > baseline + 4_000_000

        return grown
    query = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'competences' AND l.mode = 'RowExclusiveLock' "
        "AND l.pid <> pg_backend_pid()"
    )

    def inserting() -> bool:
        with live.engine.connect() as conn:
            return bool(conn.scalar(query))

    return inserting


def _kill_when(started: Callable[[], bool], pid: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not started():
        assert time.monotonic() < deadline, "the import never began to write"
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


def _checkpoint(live: Live) -> None:
    if live.backend == "sqlite":
        with live.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def test_a_server_killed_during_a_large_import_keeps_all_or_nothing(
    live: Live, tmp_path: Path
) -> None:
    prefix = f"BULK-{live.backend}-"
    path = tmp_path / "bulk.json"
    _import_file(path, prefix)
    _checkpoint(live)
    started = _writing_started(live)
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            with client(live.server, live.token) as http:
                outcome["response"] = http.post(
                    f"{API}/import",
                    content=path.read_bytes(),
                    headers={"content-type": "application/json"},
                    timeout=300,
                )
        except httpx.TransportError as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    assert live.server.process is not None
    _kill_when(started, live.server.process.pid)
    sender.join()
    live.server.process.wait(timeout=30)
    live.server.process = None
    assert "response" not in outcome  # killed before it answered
    live.server.start()
    # killed while its rows were being written, before the commit: none of them
    assert _count(live, prefix) == 0
    assert _orphans(live) == (0, 0)
    # the server goes on after the restart
    with client(live.server, live.token) as http:
        assert http.post(API, json=org_body(f"{prefix}after")).status_code == 201


def test_a_cli_import_killed_midway_keeps_all_or_nothing(live: Live, tmp_path: Path) -> None:
    prefix = f"CLI-{live.backend}-"
    path = tmp_path / "cli.json"
    _import_file(path, prefix)
    _checkpoint(live)
    started = _writing_started(live)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "import", str(path)],
        cwd=ROOT,
        env=server_env(live.engine.url.render_as_string(hide_password=False)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _kill_when(started, process.pid)
    assert process.wait(timeout=30) == -signal.SIGKILL
    # killed while its rows were being written, before the commit: none of them
    assert _count(live, prefix) == 0
    assert _orphans(live) == (0, 0)
    with client(live.server, live.token) as http:
        assert http.post(API, json=org_body(f"{prefix}after")).status_code == 201
