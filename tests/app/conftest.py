from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db import get_session
from app.main import create_app
from matching.encoders import load_encoder


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    return load_encoder("hashing")


@pytest.fixture
def client(db_session: Session, encoder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(encoder=encoder)

    def _session() -> Iterator[Session]:
        try:
            yield db_session
            db_session.commit()
        except Exception:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
