"""The login limits hold across server processes: two uvicorn processes on one database
count wrong guesses against one limit, not one limit each."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.auth.security import password_hasher
from app.models.user import Role, User
from tests.app.uow.live import LiveServer, prepare_database
from tests.conftest import BACKENDS, migrated_url

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module", params=BACKENDS)
def two_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer, Engine]]:
    url = migrated_url(request.param, request, tmp_path_factory.mktemp(f"limit-{request.param}"))
    engine = prepare_database(url)
    with Session(engine) as session, session.begin():
        session.add(
            User(
                email="alice@example.de",
                name="Alice",
                role=Role.curator.value,
                password_hash=password_hasher().hash(PASSWORD),
                is_active=True,
            )
        )
    one = LiveServer(url).start()
    try:
        two = LiveServer(url).start()
        try:
            yield one, two, engine
        finally:
            two.stop()
    finally:
        one.stop()
        engine.dispose()


def _guesses(servers: tuple[LiveServer, LiveServer], emails: list[str]) -> list[int]:
    """Wrong passwords for `emails`, all at once, every other one to the other process."""

    def guess(numbered: tuple[int, str]) -> int:
        number, email = numbered
        server = servers[number % 2]
        response = httpx.post(
            f"{server.url}/api/v1/auth/token",
            data={"username": email, "password": f"wrong guess {number}"},
            timeout=120.0,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(guess, enumerate(emails)))


def test_parallel_guesses_over_two_processes_get_the_limit_once(
    two_servers: tuple[LiveServer, LiveServer, Engine],
) -> None:
    one, two, _engine = two_servers
    # 20 guesses at one account, 10 on each process: 5 password checks in all, not 5 each
    outcomes = _guesses((one, two), ["alice@example.de"] * 20)
    assert sorted(outcomes) == [401] * 5 + [429] * 15
    # the right password is refused too, on either process, until the window ends
    for server in (one, two):
        refused = httpx.post(
            f"{server.url}/api/v1/auth/token",
            data={"username": "alice@example.de", "password": PASSWORD},
        )
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 60
    # a spray of e-mails from this address: 30 failures per address in all, 5 of them used
    spray = _guesses((one, two), [f"random{i}@example.de" for i in range(40)])
    assert sorted(spray) == [401] * 25 + [429] * 15
