"""Two real server processes on one database: a write through one is used by the next match
of the other (as with `koopmatch serve --workers N`, where a client cannot pick its worker)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.db import make_engine
from app.models.user import Role, TokenKind, User
from tests.app.matches.test_api import API, NETWORK
from tests.conftest import migrated_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    url: str, log: Path, index_dir: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "KOOPMATCH_DATABASE_URL": url, "KOOPMATCH_EMBEDDING_MODEL": "hashing"}
    if index_dir is not None:
        env["KOOPMATCH_INDEX_DIR"] = str(index_dir)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "app.asgi:app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


def _ready(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    end = time.monotonic() + 90
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not start")


def _admin_token(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        user = User(email="admin@hub.example", name="Admin", role=Role.admin.value)
        session.add(user)
        session.flush()
        _, token = auth_service.issue_token(
            session, user=user, kind=TokenKind.api_key, lifetime=dt.timedelta(hours=1)
        )
    engine.dispose()
    return token


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    url = migrated_url(request.param, request, tmp_path)
    token = _admin_token(url)
    servers = [_start(url, tmp_path / f"server{i}.log") for i in (1, 2)]
    try:
        for i, (proc, base) in enumerate(servers, start=1):
            _ready(proc, base, tmp_path / f"server{i}.log")
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=servers[0][1], headers=headers, timeout=60) as one,
            httpx.Client(base_url=servers[1][1], headers=headers, timeout=60) as two,
        ):
            yield one, two
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(20)


def _visible(client: httpx.Client, org_id: int, **expected: object) -> None:
    """Wait until the organisation reads as `expected`: the session dependency commits after
    the response has been sent, so a 2xx can precede its commit by a moment (issue 9), and
    SQLite fails the next write that overlaps that commit."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        response = client.get(f"{API}/{org_id}")
        if response.status_code == 200 and all(
            response.json().get(k) == v for k, v in expected.items()
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"organisation {org_id} never read as {expected}")


def _create_network(client: httpx.Client) -> dict[str, int]:
    """The organisations of NETWORK (A last, so its partners exist), each visible to matches
    of the process that created it; external id -> id."""
    ids = {}
    for body in sorted(NETWORK, key=lambda b: b["external_id"] == "A"):
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        ids[body["external_id"]] = response.json()["id"]
        _visible(client, ids[body["external_id"]])
    return ids


def _found(client: httpx.Client, org_id: int) -> list[int]:
    response = client.get(f"{API}/{org_id}/matches")
    assert response.status_code == 200, response.text
    return [m["organization"]["id"] for m in response.json()["items"]]


def test_a_write_through_one_process_is_matched_by_the_other(
    two_servers: tuple[httpx.Client, httpx.Client],
) -> None:
    one, two = two_servers
    ids = _create_network(one)
    assert _found(two, ids["A"]) == [ids["B"], ids["C"]]
    assert one.patch(f"{API}/{ids['C']}", json={"visibility": "private"}).status_code == 200
    _visible(one, ids["C"], visibility="private")
    assert _found(two, ids["A"]) == [ids["B"]]
    response = two.post(API, json={"name": "Zeta", "competences": [NETWORK[2]["competences"][0]]})
    assert response.status_code == 201, response.text
    _visible(two, response.json()["id"])
    assert _found(one, ids["A"]) == [ids["B"], response.json()["id"]]


def _mapped(pid: int, directory: Path) -> set[str]:
    """The files of `directory` that process `pid` has memory-mapped."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {
        Path(line.split()[-1]).name for line in maps if line.split()[-1].startswith(str(directory))
    }


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/<pid>/maps")
def test_processes_map_the_saved_index_and_follow_each_others_writes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """As `koopmatch serve --workers N` with KOOPMATCH_INDEX_DIR: the first process fits and
    saves; the next maps the saved arrays (shared pages) and still uses every later write."""
    url = migrated_url("sqlite", request, tmp_path)
    token = _admin_token(url)
    index_dir = tmp_path / "index"
    headers = {"Authorization": f"Bearer {token}"}
    first, first_base = _start(url, tmp_path / "s1.log", index_dir)
    servers = [first]
    try:
        _ready(first, first_base, tmp_path / "s1.log")
        with httpx.Client(base_url=first_base, headers=headers, timeout=60) as one:
            ids = _create_network(one)
            assert _found(one, ids["A"]) == [ids["B"], ids["C"]]  # the fit, saved after it
            end = time.monotonic() + 30
            while not list(index_dir.glob("*.current")) and time.monotonic() < end:
                time.sleep(0.1)
            (pointer,) = index_dir.glob("*.current")
            saved = index_dir / pointer.read_text()

            second, second_base = _start(url, tmp_path / "s2.log", index_dir)
            servers.append(second)
            _ready(second, second_base, tmp_path / "s2.log")
            with httpx.Client(base_url=second_base, headers=headers, timeout=60) as two:
                assert _found(two, ids["A"]) == [ids["B"], ids["C"]]
                # the second read the save: its arrays are mapped files, not copies
                arrays = {p.name for p in saved.glob("*.npy")}
                assert arrays
                assert _mapped(second.pid, saved) == arrays
                assert _mapped(first.pid, saved) == set()  # it fitted: its own memory

                # a write through either is used by the next match through the other
                assert (
                    one.patch(f"{API}/{ids['C']}", json={"visibility": "private"}).status_code
                    == 200
                )
                _visible(one, ids["C"], visibility="private")
                assert _found(two, ids["A"]) == [ids["B"]]
                response = two.post(
                    API, json={"name": "Zeta", "competences": [NETWORK[2]["competences"][0]]}
                )
                assert response.status_code == 201, response.text
                _visible(two, response.json()["id"])
                assert _found(one, ids["A"]) == [ids["B"], response.json()["id"]]
                assert _found(two, ids["A"]) == [ids["B"], response.json()["id"]]
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(20)
