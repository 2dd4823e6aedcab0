"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by `alembic upgrade head`. PostgreSQL comes from KOOPMATCH_TEST_POSTGRES_URL when
set, otherwise a throwaway server is started from the `pgserver` package (PostgreSQL with pgvector).
Each test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db import make_engine
from app.taxonomy.service import sync_taxonomy

BACKENDS = ["sqlite", "postgresql"]

# apps built by tests sweep no database of their own (tests that want it set it)
os.environ.setdefault("KOOPMATCH_HOUSEKEEPING_MINUTES", "0")


@pytest.fixture(scope="session")
def _pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("KOOPMATCH_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    import pgserver

    # a short path: the server's unix socket lives in the data directory
    data_dir = Path(tempfile.mkdtemp(prefix="kmpg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    uri = server.get_uri()
    yield "postgresql+psycopg://" + uri.split("://", 1)[1]
    server.cleanup()


def _fresh_postgres_database(server_url: str) -> str:
    name = f"koopmatch_test_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def migrated_url(backend: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'test.db'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("_pg_server_url"))
    command.upgrade(alembic_config(url), "heads")
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = migrated_url(request.param, request, tmp_path_factory.mktemp(request.param))
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        sync_taxonomy(session)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose commits only release savepoints; everything is rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name
