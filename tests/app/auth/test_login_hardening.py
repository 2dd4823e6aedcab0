"""Sign-in that holds: limits counted before the password check, per address, behind a proxy;
weak passwords refused; a password change ends the old sessions and keys."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection, Request

from app.auth import router as auth_router
from app.auth import service
from app.auth.ratelimit import LoginLimiter, client_address
from app.auth.security import TooManyRequests, Unauthorized, password_hasher
from app.config import get_settings
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


async def _guess_all(app: FastAPI, emails: list[str]) -> list[str]:
    async def one(email: str) -> str:
        try:
            await auth_router.login_user(_request(app), None, email=email, password="guess")  # type: ignore[arg-type]
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


def test_thirty_parallel_guesses_get_five_password_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = SlowWrongPasswords()
    monkeypatch.setattr(service, "authenticate", checker)
    app = FastAPI()
    outcomes = _run(_guess_all(app, ["alice@example.de"] * 30))
    assert checker.calls == 5
    assert sorted(outcomes) == ["401"] * 5 + ["429"] * 25


def test_a_spray_of_addresses_from_one_client_is_limited_per_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checker = SlowWrongPasswords()
    monkeypatch.setattr(service, "authenticate", checker)
    app = FastAPI()
    assert get_settings().login_address_max_failures == 30
    outcomes = _run(_guess_all(app, [f"random{i}@example.de" for i in range(40)]))
    assert checker.calls == 30
    assert sorted(outcomes) == ["401"] * 30 + ["429"] * 10
    # another client is not affected
    other = _run(_other_client(app))
    assert other == "401"


async def _other_client(app: FastAPI) -> str:
    try:
        await auth_router.login_user(
            _request(app, client="198.51.100.7"), None, email="x@example.de", password="guess"
        )  # type: ignore[arg-type]
    except Unauthorized:
        return "401"
    return "other"


def test_a_reserved_place_is_given_back_by_a_success() -> None:
    limiter = LoginLimiter(max_failures=2, window=60, clock=lambda: 100.0)
    key = ("203.0.113.5", "")
    assert limiter.attempt(key) == 0
    assert limiter.attempt(key) == 0
    assert limiter.attempt(key) == 60
    limiter.release(key)
    assert limiter.attempt(key) == 0
    assert limiter.retry_after(key) == 60


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
