from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from tests.app.uow.live import LiveServer, make_token, prepare_database
from tests.conftest import BACKENDS, migrated_url


@dataclass
class Live:
    server: LiveServer
    engine: Engine
    token: str
    backend: str


def _live(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    app: str,
    factory: bool,
) -> Iterator[Live]:
    backend = request.param
    url = migrated_url(backend, request, tmp_path_factory.mktemp(f"live-{backend}"))
    engine = prepare_database(url)
    token = make_token(engine)
    server = LiveServer(url, app=app, factory=factory).start()
    try:
        yield Live(server, engine, token, backend)
    finally:
        server.stop()
        engine.dispose()


# one server per backend for all these tests (starting one takes seconds); each test uses
# its own external_id prefix
@pytest.fixture(scope="session", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A migrated database (SQLite or PostgreSQL), an admin token and a server on it."""
    yield from _live(request, tmp_path_factory, "app.asgi:app", False)


@pytest.fixture(scope="module", params=BACKENDS)
def faulty(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """Like `live`, but a commit of an organisation named FAIL-COMMIT... fails."""
    yield from _live(request, tmp_path_factory, "tests.app.uow.faulty_app:build", True)
