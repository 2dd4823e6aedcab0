"""What a database error becomes: 503 with Retry-After for a lock not had in time, 409 for a
lost race, never a bare 500 (the classification, without a database)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from app.unit_of_work import register_error_handlers, request_writes


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"pg error {sqlstate}")
        self.sqlstate = sqlstate


def _app(exc: Exception) -> TestClient:
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/fail")
    def fail() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        (OperationalError("UPDATE", None, Exception("database is locked")), 503, "1"),
        (OperationalError("UPDATE", None, _PgError("55P03")), 503, "1"),
        (PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), 503, "1"),
        (OperationalError("UPDATE", None, _PgError("40P01")), 409, None),
        (OperationalError("UPDATE", None, _PgError("40001")), 409, None),
        (StaleDataError("expected to update 1 row(s); 0 were matched"), 409, None),
        (OperationalError("UPDATE", None, Exception("disk I/O error")), 500, None),
    ],
)
def test_database_errors_are_problem_answers(
    exc: Exception, status: int, retry_after: str | None
) -> None:
    response = _app(exc).get("/fail")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("retry-after") == retry_after
    assert response.json()["status"] == status


def test_which_requests_take_the_write_lock() -> None:
    assert [
        request_writes(method, path)
        for method, path in [
            ("GET", "/api/v1/organizations"),
            ("HEAD", "/api/v1/organizations/1"),
            ("POST", "/api/v1/organizations"),
            ("PATCH", "/api/v1/organizations/1"),
            ("DELETE", "/api/v1/organizations/1"),
            ("POST", "/api/v1/matches/search"),
        ]
    ] == [False, False, True, True, True, False]
