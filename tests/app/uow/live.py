"""A real uvicorn server in a child process, on loopback, for unit-of-work and fault tests.

The TestClient runs a request's whole cycle before it returns, so it cannot see what a client of
a real server sees: an answer sent before the commit, or a process killed after it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.config import ROOT
from app.db import make_engine
from app.models.user import Role, TokenKind, User
from app.taxonomy.service import sync_taxonomy

API = "/api/v1/organizations"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KOOPMATCH_DATABASE_URL=database_url,
        KOOPMATCH_EMBEDDING_MODEL="hashing",
        KOOPMATCH_ENVIRONMENT="development",
    )
    env.update(extra)
    return env


@dataclass
class LiveServer:
    """`app` is an import string for uvicorn; `factory` marks it as a function building the app."""

    database_url: str
    app: str = "app.asgi:app"
    factory: bool = False
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LiveServer:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        if self.factory:
            command.append("--factory")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=server_env(self.database_url, **self.env)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no commit."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
            self.process = None

    def restart(self) -> LiveServer:
        self.stop()
        self.port = free_port()
        return self.start()


def prepare_database(url: str) -> Engine:
    """The NACE table the migrations leave empty (the engine stays open for checks)."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        sync_taxonomy(session)
    return engine


def make_token(engine: Engine, role: Role = Role.admin, organization_id: int | None = None) -> str:
    """A user with a login token, committed; returns the token."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        count = session.query(User).count()
        user = User(
            email=f"{role.value}{count + 1}@live.example",
            name=f"Live {role.value}",
            role=role.value,
            organization_id=organization_id,
            is_active=True,
        )
        session.add(user)
        session.flush()
        _, secret = auth_service.issue_token(
            session, user=user, kind=TokenKind.login, lifetime=dt.timedelta(hours=2)
        )
    return secret


def client(server: LiveServer, token: str | None, **kwargs: Any) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60.0, **kwargs)


def org_body(external_id: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "name": name or f"Firma {external_id}",
        "country": "DE",
        "nace_code": "26.51",
        "employees": 12,
        "competences": [
            {"kind": "core", "label": f"Sensorik {external_id}"},
            {"kind": "complementary", "label": "Spritzguss"},
        ],
    }
    body.update(extra)
    return body


def wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
