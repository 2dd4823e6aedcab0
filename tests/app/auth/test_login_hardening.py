"""Sign-in that holds: limits counted before the password check, per address, behind a proxy;
weak passwords refused; a password change ends the old sessions and keys."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection, Request

from app.auth import router as auth_router
from app.auth import service
from app.auth.ratelimit import LoginLimiter, client_address, expire
from app.auth.security import TooManyRequests, Unauthorized, password_hasher
from app.config import get_settings
from app.db import WRITE_OPTION
from app.models.login_attempt import LoginAttempt
from app.models.user import Role, User

PASSWORD = "correct horse battery"


def _request(
    app: FastAPI, client: str = "203.0.113.5", headers: list[tuple[bytes, bytes]] | None = None
) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/auth/token",
            "headers": headers or [],
            "client": (client, 50000),
            "app": app,
        }
    )


class SlowWrongPasswords:
    """Stands in for the password check: slow, always wrong, and counted."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, session: object, *, email: str, password: str) -> None:
        with self._lock:
            self.calls += 1
        time.sleep(0.05)
        return None


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that commit for real, as a request's do (the counters are removed after)."""
    make = sessionmaker(bind=engine.execution_options(**{WRITE_OPTION: True}))
    yield make
    with make.begin() as session:
        session.execute(delete(LoginAttempt))


async def _guess_all(app: FastAPI, sessions: sessionmaker[Session], emails: list[str]) -> list[str]:
    async def one(email: str) -> str:
        with sessions() as session:
            try:
                await auth_router.login_user(_request(app), session, email=email, password="guess")
            except TooManyRequests:
                return "429"
            except Unauthorized:
                return "401"
            return "200"

    return list(await asyncio.gather(*(one(e) for e in emails)))


def _run(coroutine: Any) -> Any:
    """Run a coroutine on a loop of its own (a browser test may hold this thread's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_thirty_parallel_guesses_get_five_password_checks(
    monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]
) -> None:
    checker = SlowWrongPasswords()
    monkeypatch.setattr(service, "authenticate", checker)
    app = FastAPI()
    outcomes = _run(_guess_all(app, sessions, ["alice@example.de"] * 30))
    assert checker.calls == 5
    assert sorted(outcomes) == ["401"] * 5 + ["429"] * 25
    with sessions() as session:
        stored = session.execute(
            select(LoginAttempt.scope, LoginAttempt.failures).order_by(LoginAttempt.scope)
        ).all()
    # the refused 25 gave their address places back; no e-mail or address is stored
    assert [tuple(row) for row in stored] == [("account", 5), ("address", 5)]


def test_a_spray_of_addresses_from_one_client_is_limited_per_client(
    monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]
) -> None:
    checker = SlowWrongPasswords()
    monkeypatch.setattr(service, "authenticate", checker)
    app = FastAPI()
    assert get_settings().login_address_max_failures == 30
    outcomes = _run(_guess_all(app, sessions, [f"random{i}@example.de" for i in range(40)]))
    assert checker.calls == 30
    assert sorted(outcomes) == ["401"] * 30 + ["429"] * 10
    # another client is not affected
    other = _run(_other_client(app, sessions))
    assert other == "401"


async def _other_client(app: FastAPI, sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        try:
            await auth_router.login_user(
                _request(app, client="198.51.100.7"), session, email="x@example.de", password="g"
            )
        except Unauthorized:
            return "401"
        return "other"


def test_a_reserved_place_is_given_back_by_a_success(db_session: Session) -> None:
    now = [100.0]
    limiter = LoginLimiter(scope="address", max_failures=2, window=60, clock=lambda: now[0])
    key = ("203.0.113.5", "")
    assert limiter.attempt(db_session, key) == 0
    assert limiter.attempt(db_session, key) == 0
    assert limiter.attempt(db_session, key) == 60
    limiter.release(db_session, key)
    assert limiter.attempt(db_session, key) == 0
    now[0] = 130.0
    assert limiter.retry_after(db_session, key) == 30
    assert limiter.attempt(db_session, key) == 30
    # the window began with the first failure; when it ends, a new one begins
    now[0] = 160.0
    assert limiter.retry_after(db_session, key) == 0
    assert limiter.attempt(db_session, key) == 0
    assert limiter.retry_after(db_session, key) == 0
    assert limiter.attempt(db_session, key) == 0
    assert limiter.retry_after(db_session, key) == 60
    limiter.succeeded(db_session, key)
    assert limiter.retry_after(db_session, key) == 0


def test_counters_of_ended_windows_are_expired(db_session: Session) -> None:
    for at, address in [(100.0, "192.0.2.1"), (150.0, "192.0.2.2"), (170.0, "192.0.2.3")]:
        limiter = LoginLimiter(scope="address", max_failures=5, window=60, clock=lambda t=at: t)
        assert limiter.attempt(db_session, (address, "")) == 0
    # at 211 the windows begun at 100 and 150 have ended, the one begun at 170 has not
    assert expire(db_session, window=60, now=211.0) == 2
    assert db_session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def _connection(peer: str, forwarded: str | None) -> HTTPConnection:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return HTTPConnection({"type": "http", "headers": headers, "client": (peer, 40000)})


def test_forwarded_addresses_count_only_from_a_configured_proxy() -> None:
    spoofed = _connection("203.0.113.5", "198.51.100.1")
    assert client_address(spoofed, []) == "203.0.113.5"
    assert client_address(spoofed, ["10.0.0.0/8"]) == "203.0.113.5"
    proxied = _connection("10.0.0.2", "192.0.2.99, 198.51.100.1")
    # the proxy appends the address it saw; what the client put in front is not believed
    assert client_address(proxied, ["10.0.0.0/8"]) == "198.51.100.1"
    chained = _connection("10.0.0.2", "198.51.100.1, 10.0.0.3")
    assert client_address(chained, ["10.0.0.0/8"]) == "198.51.100.1"
    assert client_address(_connection("10.0.0.2", None), ["10.0.0.0/8"]) == "10.0.0.2"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("1234567890", "too common"),
        (" " * 10, "too simple"),
        ("aaaaaaaaaaaa", "too simple"),
        ("Password123", "too common"),
    ],
)
def test_weak_passwords_are_refused(client: TestClient, password: str, reason: str) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "weak@example.de", "name": "Weak", "role": "curator", "password": password},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "password", "message": reason}]


def test_a_good_password_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users",
        json={
            "email": "good@example.de",
            "name": "Good",
            "role": "curator",
            "password": "Zebra-Lampe-42",
        },
    )
    assert response.status_code == 201


@pytest.fixture
def alice(db_session: Session) -> User:
    user = User(
        email="alice@example.de",
        name="Alice",
        role=Role.curator.value,
        password_hash=password_hasher().hash(PASSWORD),
        is_active=True,
    )
    db_session.add(user)
    db_session.commit()
    return user


def _login(client: TestClient, password: str) -> TestClient:
    response = client.post(
        "/api/v1/auth/token", data={"username": "alice@example.de", "password": password}
    )
    return response  # type: ignore[return-value]


def test_a_password_change_ends_every_session_and_api_key(
    anon_client: TestClient, alice: User
) -> None:
    first = _login(anon_client, PASSWORD).json()["access_token"]  # type: ignore[attr-defined]
    second = _login(anon_client, PASSWORD).json()["access_token"]  # type: ignore[attr-defined]
    key = anon_client.post(
        "/api/v1/auth/api-keys",
        json={"name": "erp", "current_password": PASSWORD},
        headers={"Authorization": f"Bearer {first}"},
    ).json()["secret"]
    wrong = anon_client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": "Zebra-Lampe-42"},
        headers={"Authorization": f"Bearer {first}"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [{"field": "current_password", "message": "wrong password"}]
    changed = anon_client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "Zebra-Lampe-42"},
        headers={"Authorization": f"Bearer {second}"},
    )
    assert changed.status_code == 204
    for secret in (first, second, key):
        me = anon_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 401
    assert _login(anon_client, PASSWORD).status_code == 401  # type: ignore[attr-defined]
    assert _login(anon_client, "Zebra-Lampe-42").status_code == 200  # type: ignore[attr-defined]


def test_wrong_current_passwords_count_towards_the_login_limit(
    anon_client: TestClient, alice: User
) -> None:
    token = _login(anon_client, PASSWORD).json()["access_token"]  # type: ignore[attr-defined]

    def change(current: str) -> int:
        return anon_client.post(
            "/api/v1/auth/password",
            json={"current_password": current, "new_password": "Zebra-Lampe-42"},
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    assert [change(f"guess number {i}") for i in range(5)] == [422] * 5
    # the sixth try is refused before the password is checked, the right one too
    refused = anon_client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "Zebra-Lampe-42"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    me = anon_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


def test_an_admin_setting_a_password_ends_the_account_sessions(
    client: TestClient, anon_client: TestClient, alice: User
) -> None:
    token = _login(anon_client, PASSWORD).json()["access_token"]  # type: ignore[attr-defined]
    response = client.patch(f"/api/v1/users/{alice.id}", json={"password": "Zebra-Lampe-42"})
    assert response.status_code == 200
    me = anon_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
